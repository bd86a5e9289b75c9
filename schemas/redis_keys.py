"""The Redis read-model layout, shared by the aggregator (writer) and the API (reader).

Everything here is rebuilt from Kafka; nothing is the only copy.

  {p}:{tenant}:meetings                     zset   meeting_id -> first-seen time (s)
  {p}:{tenant}:meeting:{meeting_id}         hash   platform, native_meeting_id, status, reason,
                                                   sub_code, session_id, created_ns, updated_ns,
                                                   start_ns, end_ns
  {p}:{tenant}:native:{platform}:{native}   string latest meeting_id for that native meeting
  {p}:{tenant}:health:{meeting_id}          hash   kind -> JSON {count, last_seq_first,
                                                   last_seq_last, detail, at_ns}
  {p}:{tenant}:segments:{meeting_id}:{run}  hash   segment_id -> JSON segment (latest revision)
  {p}:{tenant}:order:{meeting_id}:{run}     zset   segment_id -> start_s (display order)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "stg"

    def meetings(self, tenant: str) -> str:
        return f"{self.prefix}:{tenant}:meetings"

    def meeting(self, tenant: str, meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:meeting:{meeting_id}"

    def native(self, tenant: str, platform: str, native_meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:native:{platform}:{native_meeting_id}"

    def health(self, tenant: str, meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:health:{meeting_id}"

    def segments(self, tenant: str, meeting_id: str, run_id: str) -> str:
        return f"{self.prefix}:{tenant}:segments:{meeting_id}:{run_id}"

    def order(self, tenant: str, meeting_id: str, run_id: str) -> str:
        return f"{self.prefix}:{tenant}:order:{meeting_id}:{run_id}"
