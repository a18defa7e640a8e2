from shared.devstack.paths import paths, repo_root


def test_the_repo_root_is_the_nearest_folder_above_with_a_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    nested = tmp_path / "services" / "ledger"
    nested.mkdir(parents=True)

    assert repo_root(nested) == tmp_path


def test_the_stack_lives_in_var_under_the_repo_root(tmp_path, monkeypatch):
    monkeypatch.delenv("OVERDUE_VAR_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\n")

    layout = paths(tmp_path)

    assert layout.var == tmp_path / "var"
    assert layout.state_file == tmp_path / "var" / "run" / "infra.json"
    assert layout.kafka_log == tmp_path / "var" / "log" / "kafka.log"


def test_overdue_var_dir_moves_the_whole_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERDUE_VAR_DIR", str(tmp_path / "elsewhere"))

    layout = paths()

    assert layout.var == tmp_path / "elsewhere"
    assert layout.outbox == tmp_path / "elsewhere" / "outbox"
