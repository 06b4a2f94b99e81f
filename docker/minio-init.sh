#!/bin/sh
# One-shot MinIO setup for docker-compose.yml (the minio-init service, image minio/mc):
# the cold-backup bucket and the S3 user the replica servers sign in as, allowed to read
# and write. Safe to run again: every step leaves an existing bucket or user as it is
# (mc admin policy attach succeeds when the policy is already attached, mc >= 2024-10).
set -eu

: "${MINIO_ENDPOINT:?}" "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"
: "${PEGASUS_LOG_S3_ACCESS_KEY:?}" "${PEGASUS_LOG_S3_SECRET_KEY:?}" "${PEGASUS_LOG_S3_BUCKET:?}"

mc alias set cluster "$MINIO_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "cluster/$PEGASUS_LOG_S3_BUCKET"
mc admin user add cluster "$PEGASUS_LOG_S3_ACCESS_KEY" "$PEGASUS_LOG_S3_SECRET_KEY"
mc admin policy attach cluster readwrite --user "$PEGASUS_LOG_S3_ACCESS_KEY"
echo "bucket $PEGASUS_LOG_S3_BUCKET ready for user $PEGASUS_LOG_S3_ACCESS_KEY"
