#!/usr/bin/env bash
# System packages the test suite needs beyond pip: headless Chromium + its driver (browser tests
# of the report and web app) and Java 17 (PySpark). Installs only what is missing, from Debian's
# packages; uses sudo when not root. Nothing here is needed to *use* sanctionwatch locally.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])'; then need+=(openjdk-17-jre-headless); fi
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${need[*]} (apt-get)" >&2
$sudo apt-get install -y -q "${need[@]}" >/dev/null || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${need[@]}" >/dev/null; }
