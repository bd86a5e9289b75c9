#!/usr/bin/env bash
# The broker's configuration from the environment, as the apache/kafka image reads it:
# KAFKA_LOG_DIRS=/x -> log.dirs=/x (one `_` -> `.`, `__` -> `_`). CLUSTER_ID formats the
# storage the first time; KAFKA_HEAP_OPTS sets the JVM heap.
set -euo pipefail
: "${CLUSTER_ID:?set CLUSTER_ID (22 characters, base64) to format the storage}"
props=/opt/kafka/config/server.properties
: >"$props"
while IFS='=' read -r name value; do
  case "$name" in KAFKA_HEAP_OPTS|KAFKA_OPTS) continue ;; KAFKA_*) ;; *) continue ;; esac
  key=${name#KAFKA_}
  key=${key,,}
  key=${key//__/@}
  key=${key//_/.}
  echo "${key//@/_}=$value" >>"$props"
done < <(env)
cat >/opt/kafka/config/log4j2.properties <<'LOG'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
LOG
java=(java -cp '/opt/kafka/libs/*' -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties)
"${java[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$props" --ignore-formatted >/dev/null
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS holds several flags
exec "${java[@]}" ${KAFKA_HEAP_OPTS:--Xmx768m -Xms768m} -XX:+UseG1GC -Djava.awt.headless=true \
  kafka.Kafka "$props"
