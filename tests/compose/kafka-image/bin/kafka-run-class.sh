#!/usr/bin/env bash
# kafka-run-class.sh of the Apache Kafka distribution, reduced: a short-lived tool JVM with the
# broker's jars on the class path and warnings-only logging to stderr.
set -euo pipefail
main="$1"
shift
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.xml \
  -cp "/opt/kafka/libs/*" "$main" "$@"
