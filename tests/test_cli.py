"""Every command refuses a bad flag at the door: one line that names the flag and the fix, exit code 2, nothing
written. argparse's own refusals (a flag's type or choices, an unknown flag) are one line too, naming --help."""
import pytest

from paddle_gan import demo, download, evaluate, export, generate, train

COMMANDS = {"train": train.main, "generate": generate.main, "evaluate": evaluate.main, "export": export.main,
            "demo": demo.main, "download": download.main}

# (command, arguments, what the error line must say)
CASES = [
    ("train", ["-d", "mnist", "--num_passes", "0"], "num_passes=0 must be a positive whole number"),
    ("train", ["-d", "mnist", "--iters_per_pass", "-3"], "iters_per_pass=-3"),
    ("train", ["-d", "mnist", "--batch_size", "0"], "batch_size=0"),
    ("train", ["-d", "mnist", "--lr", "-1"], "lr=-1.0 must be positive"),
    ("train", ["-d", "mnist", "--beta1", "1.5"], "beta1=1.5"),
    ("train", ["-d", "mnist", "--noise_dim", "0"], "noise_dim=0"),
    ("train", ["-d", "mnist", "--seed", "-1"], "seed=-1"),
    ("train", ["-d", "mnist", "--nproc", "-2"], "nproc=-2"),
    ("train", ["-d", "mnist", "--keep_checkpoints", "-1"], "keep_checkpoints=-1"),
    ("train", ["-d", "mnist", "--eval_every_pass", "-5"], "--eval_every_pass -5"),
    ("train", ["-d", "mnist", "--eval_every_pass", "3"], "--eval_every_pass 3"),
    ("train", ["-d", "mnist", "--visualdl", "{file}"], "is a file"),
    ("train", ["-d", "mnist", "-o", "bogus=1"], "-o 'bogus=1'"),
    ("train", ["-d", "mnist", "-o", "lr=fast"], "lr='fast': expected a float"),
    ("train", ["-d", "mnist", "-o", "d_update=both"], "d_update='both' is not one of"),
    ("train", ["-d", "mnist", "--conf", "{tmp}/missing.toml"], "not found"),
    ("train", ["-d", "mnist", "--resume", "{tmp}"], "not a paddle_gan checkpoint folder"),
    ("train", ["-d", "mnist", "-o", "samples_dir="], "samples_dir is empty"),
    ("train", ["-d", "mnist", "-o", "params_dir=mnist_samples"], "samples_dir and params_dir are both"),
    ("train", ["-d", "mnist", "--model_dir", "{tmp}", "-o", "noise_dim=50", "--lr", "1"],
     "--lr, -o would change nothing there: drop them"),
    ("generate", ["--model_dir", "{tmp}", "--seed", "-1"], "--seed -1"),
    ("generate", ["--model_dir", "{tmp}", "-o", ""], "-o ''"),
    ("generate", ["--model_dir", "{tmp}", "--png", "grid.bmp"], "--png 'grid.bmp'"),
    ("generate", ["--model_dir", "{tmp}", "-o", "{tmp}"], "-o {tmp}: is a folder"),
    ("generate", ["--model_dir", "{tmp}", "--png", "{tmp}"], "--png {tmp}: is a folder"),
    ("export", ["--model_dir", "{tmp}", "--out", ""], "--out '': name the folder"),
    ("generate", ["--model_dir", "{tmp}", "--label", "x"], "--label x"),
    ("generate", ["--model_dir", "{tmp}"], "not a paddle_gan checkpoint folder"),
    ("evaluate", ["-d", "mnist", "--model_dir", "{tmp}", "--seed", "-4"], "--seed -4"),
    ("evaluate", ["-d", "mnist", "--model_dir", "{tmp}"], "not a paddle_gan checkpoint folder"),
    ("evaluate", ["-d", "mnist", "--samples", "{tmp}/missing.npy"], "missing.npy"),
    ("evaluate", ["-d", "mnist", "--samples", "{file}"], "a_file as a numpy file (No data left in file)"),
    ("export", ["--model_dir", "{tmp}", "--out", "{tmp}/out"], "not a paddle_gan checkpoint folder"),
    ("demo", ["--model_dir", "{tmp}", "--port", "70000"], "--port 70000"),
    ("demo", ["--model_dir", "{tmp}", "--port", "-1"], "--port -1"),
    ("download", ["mnist", "--from", "{tmp}/nowhere", "--dest", "{tmp}/d"], "--from {tmp}/nowhere: no such folder"),
    ("download", ["mnist", "--dest", "{file}"], "cannot use {tmp}/a_file"),
    # (with no data there: the folder is refused before any download)
    ("train", ["-d", "mnist", "-o", "data_dir={tmp}/no_data", "--output_dir", "{file}"],
     "choose a writable --output_dir"),
    ("evaluate", ["-d", "gaussian", "--real", "--data_std", "-1"], "data_std=-1.0 must be positive"),
    ("evaluate", ["-d", "gaussian", "--real", "--data_mean", "inf"], "data_mean=inf: expected a finite number"),
]


@pytest.mark.parametrize("command, args, says", CASES, ids=[f"{c}{' '.join(a)}" for c, a, _ in CASES])
def test_a_bad_flag_is_refused_in_one_line(command, args, says, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    args = [a.format(tmp=tmp_path, file=tmp_path / "a_file") for a in args]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert COMMANDS[command](args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert says.format(tmp=tmp_path) in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("command, args", [("train", ["-d", "mnist", "--schedule", "often"]),
                                           ("train", ["-d", "mnist", "--lr", "fast"]),
                                           ("generate", ["--model_dir", "x", "-n", "0"]),
                                           ("evaluate", ["-d", "mnist", "--real", "-n", "3"]),
                                           ("export", ["--model_dir", "x", "--out", "y", "--format", "tf"]),
                                           ("demo", ["--model_dir", "x", "--port", "any"]),
                                           ("evaluate", ["-d", "mnist", "--real", "--epochs", "0"]),
                                           ("evaluate", ["-d", "mnist", "--real", "--labels", "l.npy"]),
                                           ("evaluate", ["-d", "mnist", "--model_dir", "x", "--data_std", "1"]),
                                           ("train", ["-d", "mnist", "--amp", "fp8"]),
                                           ("train", ["-d", "mnist", "--use_gpu", "2"]),
                                           ("generate", ["--model_dir", "x", "--gpu_id", "-1"]),
                                           ("train", ["-d", "mnist", "--gpu_id", "one"]),
                                           ("download", ["mnist", "--unknown_flag"])])
def test_argparse_refuses_a_value_of_the_wrong_kind(command, args, capsys):
    with pytest.raises(SystemExit) as stopped:
        COMMANDS[command](args)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"python -m paddle_gan.{command}: error: ") and err.count("\n") == 1, err
    assert err.endswith(f"(see python -m paddle_gan.{command} --help)\n"), err


def test_train_from_python_refuses_a_config_that_is_not_one(tmp_path):
    from paddle_gan.config import ConfigError
    with pytest.raises(ConfigError, match="a config is a dict of settings.*not NoneType"):
        train.train(None, tmp_path)


def test_a_size_too_large_for_memory_is_one_line_saying_what_to_make_smaller(tmp_path, capsys):
    # the noise layer's weights alone would take petabytes, beyond any address space: refused even where the system
    # promises any amount of memory (vm.overcommit_memory = 1)
    args = ["-d", "uniform", "--nproc", "1", "--noise_dim", str(10**14), "--output_dir", str(tmp_path)]
    assert train.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory (") and err.count("\n") == 1, err
    assert "GiB asked for at once); choose a smaller --batch_size, noise_dim or network" in err


def test_out_of_memory_in_another_command_says_what_to_ask_for_less_of(monkeypatch, capsys):
    from paddle_gan import cli

    def out_of_memory(*args):
        raise MemoryError("Unable to allocate 291. GiB for an array with shape (100000000000, 784)")
    monkeypatch.setattr(generate, "load_generator", out_of_memory)
    assert generate.main(["--model_dir", "x", "-n", "5"]) == 2
    assert capsys.readouterr().err == "error: out of memory; ask for fewer samples (-n)\n"
    assert cli.run(out_of_memory) == 2  # a command without -n
    assert capsys.readouterr().err == "error: out of memory; close other programs, or ask for less\n"
