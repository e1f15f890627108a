#!/bin/bash
# SageMaker Studio lifecycle configuration (JupyterLab space, runs at each space start):
# installs the mlaccel kit into the space's Python, adds its snippets to JupyterLab, and
# points the notebooks at this AWS account (MLACCEL_BACKEND=aws, MLACCEL_ROLE_ARN,
# MLACCEL_BUCKET), looked up at start from the space's metadata and the domain.
#
# Register it (once per domain), then pick it in the space's settings:
#   aws sagemaker create-studio-lifecycle-config \
#     --studio-lifecycle-config-name mlaccel-on-start \
#     --studio-lifecycle-config-app-type JupyterLab \
#     --studio-lifecycle-config-content "$(base64 -w0 seedcode/studio/on-start.sh)"
#   aws sagemaker update-domain --domain-id <domain-id> --default-user-settings \
#     '{"JupyterLabAppSettings": {"LifecycleConfigArns": ["<lifecycle-config-arn>"]}}'
#
# Edit KIT_REPO_URL below (or set it in the image) to your team's clone of the kit. Studio
# stops a start-up script after 5 minutes and keeps the space from starting when the script
# fails: the quick settings are written first, the pip install runs in the background
# (log: ~/.mlaccel/on-start.log), and a failed lookup only leaves a value for the kit to find.
set -euo pipefail

KIT_REPO_URL="${KIT_REPO_URL:-https://github.com/<your-org>/mlaccel.git}"
KIT_REF="${KIT_REF:-main}"
KIT_DIR="${KIT_DIR:-$HOME/mlaccel}"
KIT_PYTHON="${KIT_PYTHON:-$(command -v python3 || command -v python)}"
METADATA="${STUDIO_METADATA_FILE:-/opt/ml/metadata/resource-metadata.json}"
STATE_DIR="$HOME/.mlaccel"
ENV_FILE="$STATE_DIR/studio.env"
LOG="$STATE_DIR/on-start.log"

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
"""mlaccel: this Studio space's settings (MLACCEL_*), written by the space's start-up script."""
import os as _os
from pathlib import Path as _Path

_env_file = _Path.home() / ".mlaccel" / "studio.env"
if _env_file.is_file():
    for _line in _env_file.read_text().splitlines():
        _name, _sep, _value = _line.partition("=")
        if _sep and not _name.startswith("#"):
            _os.environ.setdefault(_name.strip(), _value.strip())
PYTHON

# --- the kit itself: clone or update, install, snippets (in the background) ---------------
install_kit() {
  if [[ "$KIT_REPO_URL" == *"<"* ]]; then
    log "KIT_REPO_URL is still the placeholder; edit it in this script to install the kit"
    return 0
  fi
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
  log "installing the kit into $KIT_PYTHON"
  "$KIT_PYTHON" -m pip install --quiet -e "${KIT_DIR}[lab]"
  log "adding the snippets to JupyterLab"
  (cd "$KIT_DIR" && PATH="$(dirname "$KIT_PYTHON"):$PATH" mlaccel snippets install)
  log "done: open $KIT_DIR/notebooks in JupyterLab"
}

# The background shell writes straight to the log, so its log() only prints.
# shellcheck disable=SC2016  # expanded by the background shell
background_log='log() { printf "%s mlaccel on-start: %s\n" "$(date -u +%H:%M:%S)" "$*"; }'
nohup bash -c "set -euo pipefail; $background_log
$(declare -p KIT_REPO_URL KIT_REF KIT_DIR KIT_PYTHON)
$(declare -f install_kit)
install_kit" >>"$LOG" 2>&1 &
log "kit install running in the background (pid $!)"
