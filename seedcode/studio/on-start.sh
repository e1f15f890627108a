#!/bin/bash
# SageMaker Studio lifecycle configuration (JupyterLab space, at each space start): builds the
# mlaccel kit's own environment on the home volume as the Jupyter kernel "mlaccel", adds the
# kit's snippets, and points the notebooks at this account (MLACCEL_BACKEND=aws,
# MLACCEL_ROLE_ARN, MLACCEL_BUCKET, from the space's metadata and the domain). Nothing is
# installed into the image's own Python environment.
#
# Register it (once per domain), then pick it in the space's settings:
#   aws sagemaker create-studio-lifecycle-config \
#     --studio-lifecycle-config-name mlaccel-on-start \
#     --studio-lifecycle-config-app-type JupyterLab \
#     --studio-lifecycle-config-content "$(base64 -w0 seedcode/studio/on-start.sh)"
#   aws sagemaker update-domain --domain-id <domain-id> --default-user-settings \
#     '{"JupyterLabAppSettings": {"LifecycleConfigArns": ["<lifecycle-config-arn>"]}}'
#
# Set KIT_REPO_URL below to your team's clone of the kit. Studio stops a start-up script after
# 5 minutes: the settings come first, then ~/.mlaccel/env is built in the background (log:
# ~/.mlaccel/on-start.log) with micromamba or conda from the kit's environment.yml, else
# python3 -m venv and pip install -e <clone>[KIT_EXTRAS]; it is rebuilt only when the files it
# is built from change. The kernel "mlaccel" appears once the environment is ready.
#
# Notebook jobs: kernel "mlaccel", parameters named as in the notebook's parameters cell, and
# this lifecycle configuration as the job's start-up script (a job has no home volume: the
# script then builds the environment before the notebook runs). docs/workshop.md has the steps.

# A notebook job runs its start-up script with sh: carry on in bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

KIT_REPO_URL="${KIT_REPO_URL:-https://github.com/<your-org>/mlaccel.git}"
KIT_REF="${KIT_REF:-main}"
KIT_DIR="${KIT_DIR:-$HOME/mlaccel}"
KIT_ENV="${KIT_ENV:-$HOME/.mlaccel/env}"
# micromamba, mamba, conda or venv; empty: the first of the three on PATH, else venv
KIT_ENV_TOOL="${KIT_ENV_TOOL:-}"
# venv only: the Python that makes it, and the kit's extras (twin: the twin too)
KIT_VENV_PYTHON="${KIT_VENV_PYTHON:-python3}"
KIT_EXTRAS="${KIT_EXTRAS:-}"
METADATA="${STUDIO_METADATA_FILE:-/opt/ml/metadata/resource-metadata.json}"
STATE_DIR="$HOME/.mlaccel"
ENV_FILE="$STATE_DIR/studio.env"
LOG="$STATE_DIR/on-start.log"
# building, ready or failed (then kernels warn)
STATUS="$STATE_DIR/kit-env.status"
KERNELS="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels"

mkdir -p "$STATE_DIR"
log() { printf '%s mlaccel on-start: %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }

# --- what this space is: partition, region and account from its ARN ----------------------
metadata_field() {
  [ -r "$METADATA" ] || return 0
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' \
    "$METADATA" "$1" 2>/dev/null || true
}
# Prints nothing when the call fails or the answer is empty ("None" in the CLI's text output).
aws_text() {
  local out
  out="$(aws --cli-connect-timeout 5 --cli-read-timeout 15 "$@" --output text 2>/dev/null)" || return 0
  [ "$out" = "None" ] || printf '%s' "$out"
}

resource_arn="$(metadata_field ResourceArn)"
domain_id="$(metadata_field DomainId)"
user_profile="$(metadata_field UserProfileName)"
space_name="$(metadata_field SpaceName)"
# arn:<partition>:sagemaker:<region>:<account>:space/<domain>/<space>
IFS=: read -r _ partition _ arn_region account _ <<<"${resource_arn:-arn:aws::::}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$arn_region}}"
region="${region:-$(aws configure get region 2>/dev/null || true)}"
if [ -z "$account" ]; then
  account="$(aws_text sts get-caller-identity --query Account)"
fi
partition="${partition:-aws}"

# --- the execution role: already set, else the space's, the user's or the domain's -------
find_execution_role() {
  local role owner
  role="$(metadata_field ExecutionRoleArn)"
  if [ -z "$role" ] && [ -n "$domain_id" ] && [ -z "$user_profile" ] && [ -n "$space_name" ]; then
    owner="$(aws_text sagemaker describe-space --region "$region" --domain-id "$domain_id" \
      --space-name "$space_name" --query OwnershipSettings.OwnerUserProfileName)"
    user_profile="$owner"
  fi
  if [ -z "$role" ] && [ -n "$domain_id" ] && [ -n "$user_profile" ]; then
    role="$(aws_text sagemaker describe-user-profile --region "$region" \
      --domain-id "$domain_id" --user-profile-name "$user_profile" \
      --query UserSettings.ExecutionRole)"
  fi
  if [ -z "$role" ] && [ -n "$domain_id" ] && [ -z "$user_profile" ]; then
    role="$(aws_text sagemaker describe-domain --region "$region" --domain-id "$domain_id" \
      --query DefaultSpaceSettings.ExecutionRole)"
  fi
  if [ -z "$role" ] && [ -n "$domain_id" ]; then
    role="$(aws_text sagemaker describe-domain --region "$region" --domain-id "$domain_id" \
      --query DefaultUserSettings.ExecutionRole)"
  fi
  if [ -z "$role" ]; then
    # arn:aws:sts::<account>:assumed-role/<name>/...: ask IAM for the role's ARN with its path.
    local caller name
    caller="$(aws_text sts get-caller-identity --query Arn)"
    if [[ "$caller" == *":assumed-role/"* ]]; then
      name="${caller#*:assumed-role/}"
      name="${name%%/*}"
      role="$(aws_text iam get-role --role-name "$name" --query Role.Arn)"
      role="${role:-arn:$partition:iam::$account:role/$name}"
    fi
  fi
  printf '%s' "$role"
}

role_arn="${MLACCEL_ROLE_ARN:-$(find_execution_role)}"
# The SageMaker SDK's default bucket, which the kit also uses on AWS.
bucket="${MLACCEL_BUCKET:-}"
if [ -z "$bucket" ] && [ -n "$region" ] && [ -n "$account" ]; then
  bucket="sagemaker-$region-$account"
fi

# --- settings every shell and every kernel of the space reads ----------------------------
{
  echo "# written by the mlaccel Studio start-up script at each space start"
  echo "MLACCEL_BACKEND=aws"
  if [ -n "$region" ]; then echo "MLACCEL_REGION=$region"; fi
  if [ -n "$role_arn" ]; then echo "MLACCEL_ROLE_ARN=$role_arn"; fi
  if [ -n "$bucket" ]; then echo "MLACCEL_BUCKET=$bucket"; fi
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
log "settings in $ENV_FILE: role ${role_arn:-<found by the kit>}, bucket ${bucket:-<found by the kit>}"

marker="# mlaccel studio settings"
touch "$HOME/.bashrc"
if ! grep -qF "$marker" "$HOME/.bashrc"; then
  # shellcheck disable=SC2016  # expanded when .bashrc runs, not now
  printf '\n%s\nif [ -f "$HOME/.mlaccel/studio.env" ]; then set -a; . "$HOME/.mlaccel/studio.env"; set +a; fi\n' \
    "$marker" >>"$HOME/.bashrc"
fi

# Kernels do not read .bashrc: IPython runs its startup files in every kernel it starts
# (notebooks, papermill, notebook jobs). Values already in the environment win.
startup_dir="$HOME/.ipython/profile_default/startup"
mkdir -p "$startup_dir"
cat >"$startup_dir/00-mlaccel-studio-env.py" <<'PYTHON'
"""mlaccel: this Studio space's settings (MLACCEL_*), from the space's start-up script."""
import os as _os
from pathlib import Path as _Path

_env_file = _Path.home() / ".mlaccel" / "studio.env"
if _env_file.is_file():
    for _line in _env_file.read_text().splitlines():
        _name, _sep, _value = _line.partition("=")
        if _sep and not _name.startswith("#"):
            _os.environ.setdefault(_name.strip(), _value.strip())
# A failed build is said in the first cell's output: a notebook shows nothing printed before.
_status = _Path.home() / ".mlaccel" / "kit-env.status"
if _status.is_file() and _status.read_text().startswith("failed"):

    def _warn(*_):
        print("mlaccel: no kernel mlaccel, ~/.mlaccel/on-start.log says why")
        get_ipython().events.unregister("pre_run_cell", _warn)

    get_ipython().events.register("pre_run_cell", _warn)
PYTHON

# --- the kit: clone or update, its own environment, kernel and snippets -----------------
fetch_kit() {
  if [ -d "$KIT_DIR/.git" ]; then
    log "updating $KIT_DIR"
    if ! { git -C "$KIT_DIR" fetch --quiet origin "$KIT_REF" &&
      git -C "$KIT_DIR" merge --ff-only --quiet FETCH_HEAD; }; then
      log "kept $KIT_DIR as it is (local changes or a diverged branch)"
    fi
  else
    log "cloning $KIT_REPO_URL ($KIT_REF) into $KIT_DIR"
    git clone --quiet --branch "$KIT_REF" "$KIT_REPO_URL" "$KIT_DIR"
  fi
}

env_tool() {
  local tool
  if [ -n "$KIT_ENV_TOOL" ]; then echo "$KIT_ENV_TOOL" && return; fi
  for tool in micromamba mamba conda; do
    if command -v "$tool" >/dev/null; then echo "$tool" && return; fi
  done
  echo venv
}

# What the environment is built from, hashed: the environment is rebuilt when it changes.
env_hash() {
  local file
  {
    echo "$1 [$KIT_EXTRAS]"
    for file in environment.yml pyproject.toml requirements/lock.txt; do
      if [ -f "$KIT_DIR/$file" ]; then cat "$KIT_DIR/$file"; fi
    done
  } | sha256sum | cut -d' ' -f1
}

build_env() {
  local tool hash stamp="$KIT_ENV/.mlaccel-env-hash"
  tool="$(env_tool)"
  hash="$(env_hash "$tool")"
  if [ -x "$KIT_ENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
    log "$KIT_ENV is up to date"
    return 0
  fi
  log "building $KIT_ENV with $tool: a few minutes"
  # No kernel that points at an environment being rebuilt.
  rm -rf "$KERNELS/mlaccel" "$KIT_ENV"
  case "$tool" in
    micromamba) (cd "$KIT_DIR" && micromamba create --yes --quiet --prefix "$KIT_ENV" \
      --file environment.yml) ;;
    mamba | conda) (cd "$KIT_DIR" && "$tool" env create --quiet --prefix "$KIT_ENV" \
      --file environment.yml) ;;
    venv) "$KIT_VENV_PYTHON" -m venv "$KIT_ENV" &&
      "$KIT_ENV/bin/python" -m pip install --quiet -e "$KIT_DIR${KIT_EXTRAS:+[$KIT_EXTRAS]}" ;;
    *) log "KIT_ENV_TOOL=$tool is none of micromamba, mamba, conda, venv" && false ;;
  esac || { log "$tool could not build $KIT_ENV (its error is above)" && return 1; }
  echo "$hash" >"$stamp"
}

register_kernel() {
  local version
  version="$("$KIT_ENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" &&
    "$KIT_ENV/bin/python" -m ipykernel install --user --name mlaccel \
      --display-name "mlaccel (Python $version)" &&
    log "kernel mlaccel (Python $version) is ready: pick it in the launcher or Kernel > Change Kernel"
}

add_snippets() {
  log "adding the snippets to JupyterLab"
  # Into the user's Jupyter data folder, which the image's JupyterLab reads: the sidebar's
  # frontend and a copy of the catalog (that JupyterLab cannot import the kit's server part).
  (cd "$KIT_DIR" && "$KIT_ENV/bin/mlaccel" snippets install --target "$HOME/.local") || return 1
  log "the Snippets tab of JupyterLab's left sidebar lists the kit's snippets (reload the page);" \
    "%load $KIT_DIR/snippets/<area>/<name>.py in a cell pastes one"
}

# errexit is off in functions called by `if`: each step is checked here.
install_kit() {
  echo building >"$STATUS"
  if [[ "$KIT_REPO_URL" == *"<"* ]]; then
    log "FAILED: KIT_REPO_URL is still the placeholder; edit it in this script to install the kit"
  elif fetch_kit && build_env && register_kernel && add_snippets; then
    echo ready >"$STATUS"
    log "done: open $KIT_DIR/notebooks in JupyterLab with the kernel mlaccel"
    return 0
  else
    log "FAILED: the kit's environment is not ready; the lines above say why"
  fi
  echo failed >"$STATUS"
  return 1
}

functions="$(declare -f fetch_kit env_tool env_hash build_env register_kernel add_snippets install_kit)"
variables="$(declare -p KIT_REPO_URL KIT_REF KIT_DIR KIT_ENV KIT_ENV_TOOL KIT_VENV_PYTHON KIT_EXTRAS \
  STATUS KERNELS)"
# A notebook job's driver sets SM_INPUT_NOTEBOOK_NAME: its kernel must exist before it starts.
if [ -n "${SM_INPUT_NOTEBOOK_NAME:-}${KIT_FOREGROUND:-}" ]; then
  log "building the kit's environment before the notebook runs"
  install_kit
  exit
fi
# The background shell writes straight to the log, so its log() only prints.
# shellcheck disable=SC2016  # expanded by the background shell
background_log='log() { printf "%s mlaccel on-start: %s\n" "$(date -u +%H:%M:%S)" "$*"; }'
nohup bash -c "set -euo pipefail; $background_log
$variables
$functions
install_kit" >>"$LOG" 2>&1 &
log "kit environment: building in the background (pid $!), done when the log says so"
