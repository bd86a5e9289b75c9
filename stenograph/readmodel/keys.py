"""The Redis read-model layout, shared by the aggregator (writer) and the API (reader).

Everything here is rebuilt from Kafka; nothing is the only copy.

  {p}:{tenant}:meetings                     zset   meeting_id -> earliest event time (µs)
  {p}:{tenant}:meeting:{meeting_id}         hash   platform, native_meeting_id, status, reason,
                                                   sub_code, session_id, status_updated_ns,
                                                   start_ns, default_run, default_run_ns
  {p}:{tenant}:native:{platform}:{native}   string latest meeting_id for that native meeting
  {p}:{tenant}:health:{meeting_id}          hash   kind -> JSON {count, last_seq_first,
                                                   last_seq_last, detail, at_ns}
  {p}:{tenant}:segments:{meeting_id}:{run}  hash   segment_id -> JSON segment (latest revision)
  {p}:{tenant}:words:{meeting_id}:{run}     hash   segment_id -> JSON word timings of that revision
  {p}:{tenant}:order:{meeting_id}:{run}     zset   segment_id -> start_s (display order)
  {p}:{tenant}:audio:{meeting_id}           hash   session_id -> JSON {topic, partition,
                                                   first_offset, last_offset, frames, audio_s,
                                                   started_at_ns}
  {p}:{tenant}:speakers:{meeting_id}       zset   no longer written (the aggregator keeps speaking
                                                   indicators in its own table); erased with its meeting
  {p}:{tenant}:erased                       set    erased meeting ids: nothing of them is stored again
  {p}:{tenant}:settled:{meeting_id}         zset   session_id -> seconds from the meeting start
                                                   before which the settled run supersedes live
  {p}:{tenant}:runs:{meeting_id}            hash   run_id -> JSON {run_id, state, model, language,
                                                   task, progress, eta_s, audio_s, segments,
                                                   error, created_ns, updated_ns}

Tenants and keys (ids never start with "_", so these cannot meet a tenant's own keys):

  {p}:_epoch                                string when the read model was last built whole: the
                                                   aggregator rebuilds it from Kafka when it is gone
  {p}:_tenants                              set    tenant ids
  {p}:_tenant:{tenant}                      hash   name, email, max_concurrent_bots, webhook_url,
                                                   webhook_secret, created_ns, updated_ns

Operational records outside the read model (not rebuilt, not cleared by a rebuild):

  {p}-ops:webhook_log:{tenant}              list   newest first, capped: JSON {delivery_id, event,
                                                   url, attempts, status_code, ok, error, at_ns}
  {p}:_apikey:{key_id}                      hash   tenant_id, key_hash (SHA-256), label,
                                                   created_ns, revoked_ns
  {p}:_tenant_keys:{tenant}                 set    key ids

Every write is order-insensitive (min/max merges, latest event time wins, upserts by id), so
`stenograph rebuild`, which re-reads the topics one after another, restores the same values.
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

    def words(self, tenant: str, meeting_id: str, run_id: str) -> str:
        return f"{self.prefix}:{tenant}:words:{meeting_id}:{run_id}"

    def order(self, tenant: str, meeting_id: str, run_id: str) -> str:
        return f"{self.prefix}:{tenant}:order:{meeting_id}:{run_id}"

    def audio(self, tenant: str, meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:audio:{meeting_id}"

    def speakers(self, tenant: str, meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:speakers:{meeting_id}"

    def erased(self, tenant: str) -> str:
        return f"{self.prefix}:{tenant}:erased"

    def settled(self, tenant: str, meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:settled:{meeting_id}"

    def runs(self, tenant: str, meeting_id: str) -> str:
        return f"{self.prefix}:{tenant}:runs:{meeting_id}"

    def epoch(self) -> str:
        return f"{self.prefix}:_epoch"

    def tenants(self) -> str:
        return f"{self.prefix}:_tenants"

    def tenant(self, tenant: str) -> str:
        return f"{self.prefix}:_tenant:{tenant}"

    def api_key(self, key_id: str) -> str:
        return f"{self.prefix}:_apikey:{key_id}"

    def tenant_keys(self, tenant: str) -> str:
        return f"{self.prefix}:_tenant_keys:{tenant}"

    def webhook_log(self, tenant: str) -> str:
        return f"{self.prefix}-ops:webhook_log:{tenant}"

    def everything(self) -> str:
        """A SCAN pattern for every key of the read model."""
        return f"{self.prefix}:*"
