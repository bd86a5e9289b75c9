"""Apache Kafka (KRaft, single node) from the official jars, resolved with Maven into a cache.

Order: KAFKA_HOME (an unpacked distribution) -> Maven Central via `mvn` -> the Apache
release tarball. The jars are cached under the user's cache directory, so a second
run starts without touching the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from stenograph.runtime import cache_dir
from stenograph.schemas import StenographError

KAFKA_VERSION = "4.1.1"
SCALA = "2.13"
LOG4J_VERSION = "2.24.3"


class KafkaSetupError(StenographError):
    """The broker's jars could not be found or fetched."""


POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.stenograph</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""


def _libs_ready(libs: Path) -> bool:
    return (libs / f"kafka_{SCALA}-{KAFKA_VERSION}.jar").is_file() and (libs / ".complete").is_file()


def _fetch_with_maven(target: Path) -> None:
    work = target.parent / "maven"
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(POM.format(scala=SCALA, kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
    tmp = target.with_suffix(".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={tmp}", "-Dmdep.includeScope=runtime"],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise KafkaSetupError(f"mvn could not resolve kafka_{SCALA}:{KAFKA_VERSION}: "
                              f"{(proc.stdout + proc.stderr).strip()[-500:]}")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _fetch_tarball(target: Path) -> None:
    name = f"kafka_{SCALA}-{KAFKA_VERSION}"
    url = f"https://archive.apache.org/dist/kafka/{KAFKA_VERSION}/{name}.tgz"
    archive = target.parent / f"{name}.tgz"
    try:
        urllib.request.urlretrieve(url, archive)
        with tarfile.open(archive) as tar:
            tar.extractall(target.parent, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise KafkaSetupError(f"cannot fetch {url}: {exc}") from exc
    shutil.rmtree(target, ignore_errors=True)
    (target.parent / name / "libs").rename(target)


def ensure_libs() -> Path:
    """A directory of jars that runs the broker and its storage tool."""
    home = os.environ.get("KAFKA_HOME")
    if home:
        libs = Path(home) / "libs"
        if not libs.is_dir():
            raise KafkaSetupError(f"KAFKA_HOME={home} has no libs/ directory")
        return libs
    libs = cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"
    if _libs_ready(libs):
        return libs
    libs.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("mvn"):
        _fetch_with_maven(libs)
    else:
        _fetch_tarball(libs)
    (libs / ".complete").write_text(KAFKA_VERSION)
    return libs


@dataclass(frozen=True)
class KafkaNode:
    """One single-node KRaft broker+controller living in `home`."""

    home: Path
    port: int
    controller_port: int
    heap: str = "768m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def properties(self) -> str:
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.home / 'data'}",
            "auto.create.topics.enable=false",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "group.initial.rebalance.delay.ms=0",
            # the transcriber keeps per-session resume points in its commit metadata
            "offset.metadata.max.bytes=1048576",
            "message.max.bytes=16777216",
            "log.retention.check.interval.ms=60000",
            "",
        ])

    def log4j(self) -> str:
        return "\n".join([
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {self.home / 'server.log'}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.file.ref = file",
            "logger.kafka.name = kafka",
            "logger.kafka.level = warn",
            "logger.org.name = org.apache.kafka",
            "logger.org.level = warn",
            "",
        ])

    def prepare(self, libs: Path) -> list[str]:
        """Write config, format storage once; returns the broker's command line."""
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(self.properties())
        (self.home / "log4j2.properties").write_text(self.log4j())
        java = _java()
        classpath = f"{libs}/*"
        if not (self.home / "data" / "meta.properties").is_file():
            cluster = uuid.uuid4().hex[:22]
            proc = subprocess.run(
                [java, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster,
                 "-c", str(props), "--ignore-formatted"],
                capture_output=True, text=True, check=False,
            )
            if proc.returncode != 0:
                raise KafkaSetupError(f"kafka storage format failed: {proc.stderr.strip()[-500:]}")
        return [
            java, f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp", classpath, "kafka.Kafka", str(props),
        ]


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise KafkaSetupError("java not found: Kafka needs Java 17+ (set JAVA_HOME)")
    return java
