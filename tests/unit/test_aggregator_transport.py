"""Which partitions the aggregator's consumer seeks to their beginning (aggregate/transport.py)."""

from aiokafka import TopicPartition

from stenograph.aggregate.transport import never_committed

SEG = "meetings.segments"
CHANGELOG = "stenograph-aggregator-revisions-changelog"


def test_a_partition_never_committed_is_sought_back_and_a_committed_one_is_not() -> None:
    committed = {TopicPartition(SEG, 0): None, TopicPartition(SEG, 1): 12, TopicPartition(SEG, 2): 0}
    assert sorted(never_committed(committed, set())) == [TopicPartition(SEG, 0), TopicPartition(SEG, 2)]


def test_changelog_partitions_are_left_to_table_recovery() -> None:
    committed = {TopicPartition(CHANGELOG, 0): None, TopicPartition(SEG, 0): None}
    assert never_committed(committed, {CHANGELOG}) == [TopicPartition(SEG, 0)]
