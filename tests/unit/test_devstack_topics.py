from shared.devstack.topics import wanted_topics
from shared.topics import ALL_TOPICS


def test_every_catalogue_topic_is_wanted_with_its_dead_letter_twin():
    names = {topic.name for topic in wanted_topics(6)}

    assert names == {t.name for t in ALL_TOPICS} | {t.dlq for t in ALL_TOPICS}


def test_every_wanted_topic_gets_the_partition_count_asked_for_and_one_replica():
    wanted = wanted_topics(3)

    assert {topic.num_partitions for topic in wanted} == {3}
    assert {topic.replication_factor for topic in wanted} == {1}


def test_only_the_creditors_topic_is_compacted_and_its_dead_letters_are_kept():
    configs = {topic.name: topic.topic_configs for topic in wanted_topics(6)}

    assert configs["ledger.creditors"] == {"cleanup.policy": "compact"}
    assert configs["ledger.creditors.dlq"] == {}
    compacted = [name for name, c in configs.items() if c.get("cleanup.policy")]
    assert compacted == ["ledger.creditors"]
