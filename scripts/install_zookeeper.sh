#!/usr/bin/env bash
# Installs a pinned Apache ZooKeeper for integration tests, CI and the onebox: the
# org.apache.zookeeper:zookeeper jars from Maven Central, fetched with
# `mvn dependency:copy-dependencies` from a small generated pom into a cache directory
# outside the repository. pegasus_log.services.zookeeper runs them with `java -cp`.
#
# Why jars and not Debian's `zookeeper` package: the package is 3.8.0 (the first 3.8
# release, plus patches) and drags in about 45 system packages and a system user, while the
# jars give the exact pinned release (3.8.6) in one private folder, the same on every machine.
# Both start in about 0.3 s.
#
# Idempotent: when the jars are there it only checks the stamp and exits.
#
# Environment:
#   PEGASUS_LOG_CACHE   cache root (default ~/.cache/pegasus-log)
# Prints the lib directory on its last line.
set -euo pipefail

# Keep in step with ZOOKEEPER_VERSION in pegasus_log/services/zookeeper.py.
ZOOKEEPER_VERSION=3.8.6
# ZooKeeper declares these "provided" though the server needs them at run time (metrics,
# and snapshot file naming); the versions are the ones its 3.8.6 parent pom builds against.
METRICS_CORE_VERSION=4.1.12.1
SNAPPY_VERSION=1.1.10.5

CACHE=${PEGASUS_LOG_CACHE:-$HOME/.cache/pegasus-log}
HOME_DIR="$CACHE/zookeeper/$ZOOKEEPER_VERSION"
LIB="$HOME_DIR/lib"
STAMP="$HOME_DIR/.installed"

if [ -f "$STAMP" ] && [ -f "$LIB/zookeeper-$ZOOKEEPER_VERSION.jar" ] \
   && [ -f "$LIB/snappy-java-$SNAPPY_VERSION.jar" ]; then
  echo "$LIB"
  exit 0
fi

command -v java >/dev/null 2>&1 || { echo "install_zookeeper: java is not on PATH" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "install_zookeeper: mvn is not on PATH" >&2; exit 1; }

echo "install_zookeeper: fetching ZooKeeper $ZOOKEEPER_VERSION jars into $LIB" >&2
mkdir -p "$HOME_DIR"
WORK=$(mktemp -d "$HOME_DIR/.fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.pegasus-log</groupId>
  <artifactId>zookeeper-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
      <version>$ZOOKEEPER_VERSION</version>
    </dependency>
    <dependency>
      <groupId>io.dropwizard.metrics</groupId>
      <artifactId>metrics-core</artifactId>
      <version>$METRICS_CORE_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.xerial.snappy</groupId>
      <artifactId>snappy-java</artifactId>
      <version>$SNAPPY_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF

mvn -q -B -f "$WORK/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$WORK/lib" >&2

[ -f "$WORK/lib/zookeeper-$ZOOKEEPER_VERSION.jar" ] \
  || { echo "install_zookeeper: zookeeper-$ZOOKEEPER_VERSION.jar was not fetched" >&2; exit 1; }
rm -rf "$LIB"
mv "$WORK/lib" "$LIB"
date -u +%FT%TZ > "$STAMP"
echo "$LIB"
