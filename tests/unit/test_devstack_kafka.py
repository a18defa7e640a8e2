import re
from pathlib import Path

from shared.devstack.kafka import (
    MARKER,
    BrokerConfig,
    configured_bootstrap,
    libs_are_current,
    new_cluster_id,
    pom_digest,
    render_properties,
)
from shared.devstack.paths import Paths


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_the_broker_listens_on_the_configured_ports_and_is_its_own_controller():
    config = BrokerConfig("127.0.0.1", 19092, 19093, Path("/srv/kafka/data"))

    properties = _properties(render_properties(config))

    assert properties["listeners"] == (
        "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    )
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert properties["process.roles"] == "broker,controller"
    assert properties["log.dirs"] == "/srv/kafka/data"


def test_a_single_node_broker_keeps_its_internal_topics_on_one_replica():
    config = BrokerConfig("127.0.0.1", 9092, 9093, Path("data"))

    properties = _properties(render_properties(config))

    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["transaction.state.log.replication.factor"] == "1"
    assert properties["transaction.state.log.min.isr"] == "1"
    assert properties["group.initial.rebalance.delay.ms"] == "0"


def test_topics_created_on_first_use_get_the_configured_partition_count():
    config = BrokerConfig("127.0.0.1", 9092, 9093, Path("data"), partitions=6)

    properties = _properties(render_properties(config))

    assert properties["num.partitions"] == "6"


def test_a_new_cluster_id_is_a_uuid_in_kafkas_unpadded_base64url_form():
    cluster_id = new_cluster_id()

    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
    assert new_cluster_id() != cluster_id


def test_jars_copied_for_the_current_pom_need_no_new_fetch(tmp_path):
    (tmp_path / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    (tmp_path / MARKER).write_text(pom_digest() + "\n")

    assert libs_are_current(tmp_path)


def test_jars_copied_for_another_pom_are_fetched_again(tmp_path):
    (tmp_path / "kafka_2.13-4.1.0.jar").write_bytes(b"")
    (tmp_path / MARKER).write_text("0" * 64 + "\n")

    assert not libs_are_current(tmp_path)


def test_an_interrupted_copy_without_its_marker_is_fetched_again(tmp_path):
    (tmp_path / "kafka_2.13-4.1.1.jar").write_bytes(b"")

    assert not libs_are_current(tmp_path)


def test_a_running_broker_is_found_where_its_written_config_says(tmp_path):
    layout = Paths(tmp_path)
    layout.kafka.mkdir()
    config = BrokerConfig("127.0.0.1", 19092, 19093, layout.kafka_data)
    layout.kafka_properties.write_text(render_properties(config))

    assert configured_bootstrap(layout) == "127.0.0.1:19092"
