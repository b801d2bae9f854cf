"""The autoencoder backends: where the compiled kernel may be loaded from, what happens when it
cannot be, and that its numbers do not depend on the processor or the number of threads."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import warnings
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import torch

from synlib import paths
from synlib.autoencoder import ACTIVATIONS, _ckernel, fitting, train_autoencoders

PAIRS = list(product(ACTIVATIONS, ACTIVATIONS))
TORCH_NAME = f"torch-{torch.__version__.split('+')[0]}-cpu"
HAS_COMPILER = any(shutil.which(cc) for cc in ("cc", "gcc", "clang"))
needs_compiler = pytest.mark.skipif(not HAS_COMPILER, reason="no C compiler on this machine")
# what a processor with SSE4.2 but without AVX2, FMA or AVX-512 would dispatch to, in torch and numpy
OLD_PROCESSOR = {"ATEN_CPU_CAPABILITY": "default", "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder; the process forgets earlier kernels, compilers and reported fallbacks."""
    monkeypatch.setenv("SYNLIB_CACHE", str(tmp_path / "cache"))
    for variable in ("CC", "SYNLIB_AE_KERNEL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(_ckernel, "_LOADED", {})
    monkeypatch.setattr(_ckernel, "_COMPILERS", {})
    monkeypatch.setattr(fitting, "_reported", set())
    return tmp_path / "cache"


def data(n=300, m=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3)) @ rng.random((3, m)) + 0.05 * rng.random((n, m))


def weights(models) -> list[np.ndarray]:
    return [np.concatenate([ae.encoder_weights_.ravel(), ae.decoder_weights_.ravel(), ae.bn_gamma_, ae.bn_beta_,
                            ae.encoder_bias_, ae.intercept_, ae.loss_curve_]) for ae in models]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- the cache folder ---------------------------------------------------------------------------


@needs_compiler
def test_a_new_cache_folder_is_created_0700_and_holds_the_checked_library(cache):
    kernel = _ckernel.load_library()
    folder = paths.kernel_dir()
    assert folder == cache / "kernels" and kernel.path.parent == folder
    assert mode(folder) == 0o700 and os.lstat(folder).st_uid == os.getuid()
    for f in folder.iterdir():
        assert not mode(f) & 0o077, f"{f.name} is open to group or others"
    recorded = (folder / f"{kernel.path.name}.sha256").read_text()
    assert hashlib.sha256(kernel.path.read_bytes()).hexdigest() == recorded
    assert kernel.version.startswith("ckernel-") and kernel.version in kernel.path.name


PLANTED = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void) { close(open(MARKER, O_CREAT | O_WRONLY, 0600)); }
void ae_loss_grad(void) {}
"""


def plant(folder: Path, tmp_path: Path) -> Path:
    """Put a library where the kernel is looked for, with a matching checksum file, as another
    user could; it creates a marker file when it is loaded. Returns the marker's path."""
    marker = tmp_path / "planted-library-was-loaded"
    source = tmp_path / "planted.c"
    source.write_text(PLANTED)
    name = _ckernel.library_name(_ckernel.kernel_version())
    built = tmp_path / name
    compiler = next(shutil.which(cc) for cc in ("cc", "gcc", "clang") if shutil.which(cc))
    subprocess.run([compiler, "-shared", "-fPIC", f'-DMARKER="{marker}"', "-o", str(built), str(source)], check=True)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(built, folder / name)
    (folder / f"{name}.sha256").write_text(hashlib.sha256(built.read_bytes()).hexdigest())
    return marker


@needs_compiler
def test_the_planted_library_test_can_detect_a_load(cache, tmp_path):
    """The control for the two tests below: in a folder that passes the checks, the planted library
    (with its matching checksum) is loaded, and the marker shows it."""
    folder = paths.kernel_dir()
    folder.mkdir(parents=True, mode=0o700)
    marker = plant(folder, tmp_path)
    os.chmod(folder / _ckernel.library_name(_ckernel.kernel_version()), 0o700)
    _ckernel.load_library()
    assert marker.exists()


@needs_compiler
@pytest.mark.parametrize("folder_mode", [0o770, 0o707, 0o777])
def test_a_cache_folder_writable_by_group_or_others_is_refused_and_nothing_in_it_loaded(cache, tmp_path, folder_mode):
    folder = paths.kernel_dir()
    marker = plant(folder, tmp_path)
    os.chmod(folder, folder_mode)
    with pytest.raises(_ckernel.KernelUnavailable) as refused:
        _ckernel.load_library()
    message = str(refused.value)
    assert str(folder) in message and "refused" in message and f"mode {folder_mode:04o}" in message
    assert ("group" if folder_mode & 0o020 else "others") in message
    assert not marker.exists(), "a library in a folder others can write was loaded"
    assert mode(folder) == folder_mode, "the folder was changed rather than refused"


@needs_compiler
def test_a_cache_folder_owned_by_another_user_is_refused_and_nothing_in_it_loaded(cache, tmp_path, monkeypatch):
    folder = paths.kernel_dir()
    marker = plant(folder, tmp_path)
    os.chmod(folder, 0o700)
    if os.geteuid() == 0:
        os.chown(folder, 54321, 54321)  # really another user's
    else:  # we cannot give the folder away: be another user instead
        monkeypatch.setattr(os, "getuid", lambda: os.stat(folder).st_uid + 1)
    with pytest.raises(_ckernel.KernelUnavailable, match="owned by user id") as refused:
        _ckernel.load_library()
    assert str(folder) in str(refused.value)
    assert not marker.exists(), "a library in another user's folder was loaded"


@needs_compiler
def test_a_symbolic_link_as_cache_folder_is_refused(cache, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    paths.kernel_dir().parent.mkdir(parents=True)
    paths.kernel_dir().symlink_to(elsewhere)
    with pytest.raises(_ckernel.KernelUnavailable, match="symbolic links are refused"):
        _ckernel.load_library()
    assert not any(elsewhere.iterdir())


def test_no_posix_user_ids_means_no_kernel(cache, monkeypatch):
    monkeypatch.delattr(os, "getuid")
    with pytest.raises(_ckernel.KernelUnavailable, match="no POSIX user ids"):
        _ckernel.open_private_folder(paths.kernel_dir())
    assert not paths.kernel_dir().exists()


def _replace(library: Path, content: bytes) -> None:
    # a new file in place of the old, which stays mapped in this process and must not change under it
    library.with_name("new").write_bytes(content)
    os.replace(library.with_name("new"), library)


def _flip_a_byte(library: Path) -> None:
    content = bytearray(library.read_bytes())
    content[len(content) // 2] ^= 0xFF
    _replace(library, bytes(content))


@needs_compiler
@pytest.mark.parametrize("damage, reason", [
    (_flip_a_byte, "SHA-256 differs"),
    (lambda library: _replace(library, b""), "SHA-256 differs"),
    (lambda library: library.chmod(0o770), "writable by group"),
    (lambda library: library.with_name(library.name + ".sha256").unlink(), "checksum file is missing"),
])
def test_a_damaged_or_foreign_cached_library_is_refused_and_rebuilt(cache, damage, reason):
    first = _ckernel.load_library()
    good = first.path.read_bytes()
    damage(first.path)
    _ckernel._LOADED.clear()  # a new process
    with pytest.warns(RuntimeWarning, match=f"cached kernel .* is refused .*{reason}.*rebuilding"):
        again = _ckernel.load_library()
    assert again.path == first.path and again.path.read_bytes() == good
    assert not mode(again.path) & 0o077
    # and it works
    models = train_autoencoders([data()], 2, [("relu", "tanh")], epochs=5, kernel="c")
    assert models[0].backend_ == again.version


# --- when the kernel cannot be used -------------------------------------------------------------


def test_no_compiler_warns_once_and_trains_with_torch(cache, monkeypatch):
    monkeypatch.setenv("CC", "false")
    reference = train_autoencoders([data()], 3, PAIRS[:3], epochs=20, kernel="torch")
    with pytest.warns(RuntimeWarning) as caught:
        models = train_autoencoders([data()], 3, PAIRS[:3], epochs=20)
    [warning] = [w for w in caught if "kernel" in str(w.message)]
    text = str(warning.message)
    assert "C compiler" in text and "false" in text and "exited with status 1" in text  # the cause
    assert f"Training with the {TORCH_NAME} backend instead" in text  # and what is used instead
    for got, expected in zip(models, reference):
        assert got.backend_ == TORCH_NAME
        np.testing.assert_array_equal(got.synergies_, expected.synergies_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once per process
        train_autoencoders([data()], 3, PAIRS[:1], epochs=5)
    with pytest.raises(RuntimeError, match="compiled kernel cannot be used: .*false"):
        train_autoencoders([data()], 3, PAIRS[:1], epochs=5, kernel="c")


def test_a_failed_build_is_remembered_for_the_process(cache, tmp_path, monkeypatch):
    log = tmp_path / "calls"
    compiler = tmp_path / "broken-cc"
    compiler.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\ncase \"$1\" in --version) echo broken 1.0;; "
                        "*) echo 'broken: cannot compile' >&2; exit 1;; esac\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("CC", str(compiler))
    with pytest.warns(RuntimeWarning, match="failed to build the kernel"):
        # 300 rows in batches of 32: ten backends per epoch, each of which wants the kernel
        train_autoencoders([data()], 2, [("relu", "tanh")], epochs=3, batch_size=32)
    train_autoencoders([data()], 2, [("relu", "tanh")], epochs=2)
    calls = log.read_text().splitlines()
    assert calls[0] == "--version"
    assert len(calls) == 3, f"the compiler was run {len(calls)} times: --version, then -march=native and without"


def test_synlib_ae_kernel_torch_is_a_choice_not_a_failure(cache, monkeypatch):
    monkeypatch.setenv("SYNLIB_AE_KERNEL", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        [ae] = train_autoencoders([data()], 2, [("relu", "tanh")], epochs=3)
    assert ae.backend_ == TORCH_NAME
    monkeypatch.setenv("SYNLIB_AE_KERNEL", "gpu")
    with pytest.raises(ValueError, match="SYNLIB_AE_KERNEL='gpu' is not understood; allowed: auto"):
        train_autoencoders([data()], 2, [("relu", "tanh")], epochs=3)


# --- the numbers --------------------------------------------------------------------------------

TRAIN = textwrap.dedent("""
    import json, sys
    import numpy as np
    import torch
    from synlib.autoencoder import _ckernel, train_autoencoders
    from itertools import product
    _ckernel.ARCH_FLAGS = tuple(sys.argv[1].split())
    rng = np.random.default_rng(0)
    X = [rng.random((n, 3)) @ rng.random((3, 9)) + 0.05 * rng.random((n, 9)) for n in (2000, 500)]
    pairs = list(product(["linear", "relu", "sigmoid", "tanh"], repeat=2))
    runs = [dict(epochs=12), dict(epochs=6, optimizer="adam", lr=1e-2), dict(epochs=6, optimizer="sgd", lr=0.1),
            dict(epochs=3, batch_size=256, weight_decay=1e-3, early_stopping=2)]
    out = {}
    for r, options in enumerate(runs):
        for i, ae in enumerate(train_autoencoders(X, [3, 4], pairs, seeds=[1], kernel="c", **options)):
            for name in ("encoder_weights_", "decoder_weights_", "bn_gamma_", "bn_beta_", "loss_curve_"):
                out[f"{r}.{i}.{name}"] = getattr(ae, name)
    np.savez(sys.argv[2], **out)
    kernel = _ckernel.load_library()
    print(json.dumps({"library": str(kernel.path), "version": kernel.version,
                      "torch_dispatch": torch.backends.cpu.get_cpu_capability()}))
""")


def _train_in_subprocess(arch: str, out: Path, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", TRAIN, arch, str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(paths.ROOT), **env}, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
@needs_compiler
def test_weights_are_bitwise_equal_for_the_baseline_processor_and_this_one(cache, tmp_path):
    """The architecture test: the kernel built for plain x86-64 (or the architecture's baseline) with
    torch and numpy dispatching as on a processor without AVX2/FMA, against the kernel built with
    -march=native and the dispatch this processor gets. Every activation pair, optimiser, mini-batches."""
    baseline_arch = "-march=x86-64" if os.uname().machine == "x86_64" else ""
    old = _train_in_subprocess(baseline_arch, tmp_path / "old.npz", {**OLD_PROCESSOR, "SYNLIB_CACHE": str(cache)})
    new = _train_in_subprocess("-march=native", tmp_path / "new.npz", {"SYNLIB_CACHE": str(cache)})
    assert old["version"] == new["version"]  # the version names the numbers, not the instruction set
    if Path(old["library"]).read_bytes() == Path(new["library"]).read_bytes():
        pytest.skip("the compiler built the same code for this processor as for the baseline")
    assert old["torch_dispatch"] != new["torch_dispatch"] or new["torch_dispatch"] == "DEFAULT"
    a, b = np.load(tmp_path / "old.npz"), np.load(tmp_path / "new.npz")
    assert sorted(a.files) == sorted(b.files) and len(a.files) == 4 * 32 * 5
    unequal = [name for name in a.files if not np.array_equal(a[name], b[name])]
    assert not unequal, f"{len(unequal)} arrays differ, e.g. {unequal[:3]}"


@needs_compiler
def test_weights_are_bitwise_equal_on_one_and_two_threads(cache):
    X = [data(n=20000, seed=1), data(n=3000, seed=2)]  # several items of 8192 rows per model
    previous = torch.get_num_threads()
    try:
        results = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results[threads] = weights(train_autoencoders(X, [3, 2], PAIRS[::5], seeds=[3], epochs=10, kernel="c"))
    finally:
        torch.set_num_threads(previous)
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_trains_the_same_models_as_the_cpu(cache):
    """The torch backend on a GPU against the CPU (the kernel where it builds), within the tolerance
    stated between the backends: 1e-4 relative on the losses, 1e-4 on the synergies."""
    X = data()
    cpu = train_autoencoders([X], 3, PAIRS, seeds=[0], epochs=50, device="cpu")
    gpu = train_autoencoders([X], 3, PAIRS, seeds=[0], epochs=50, device="cuda")
    for a, b in zip(cpu, gpu):
        assert b.backend_.endswith("-cuda")
        np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-4)
        np.testing.assert_allclose(b.synergies_, a.synergies_, atol=1e-4)


# --- structure ----------------------------------------------------------------------------------


def test_modules_import_in_layers_and_the_runner_needs_no_torch():
    script = textwrap.dedent("""
        import sys
        import synlib.runner
        assert "torch" not in sys.modules, "the runner imported torch"
        import synlib.autoencoder.model
        assert "synlib.autoencoder.trainer" not in sys.modules, "the estimator imports the batch helper"
        import synlib.autoencoder.fitting
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(paths.ROOT)})
    assert done.stdout.strip() == "ok", done.stderr
    tree = ast.parse(Path(fitting.__file__).read_text())
    imported = {"." * node.level + (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not imported & {"synlib.autoencoder.model", "synlib.autoencoder.trainer", ".model", ".trainer"}, imported


def test_the_runner_key_follows_the_backend_and_the_ae_variables(monkeypatch):
    from synlib.autoencoder import backend_fingerprint

    monkeypatch.delenv("SYNLIB_AE_GROUP_BYTES", raising=False)
    base = json.loads(backend_fingerprint())
    assert base["torch"] == torch.__version__ and base["env"] == {}
    monkeypatch.setenv("SYNLIB_AE_GROUP_BYTES", "1")
    assert json.loads(backend_fingerprint())["env"] == {"SYNLIB_AE_GROUP_BYTES": "1"}
    monkeypatch.setenv("SYNLIB_AE_KERNEL", "torch")
    assert json.loads(backend_fingerprint())["kernel"] == "unavailable: disabled by SYNLIB_AE_KERNEL=torch"
    from synlib.plan import load_plan
    from synlib.runner import make_jobs

    plan = load_plan(Path(__file__).parent / "runner_fixtures" / "plan.yml")
    keys = {}
    for value in ("1", "2"):
        monkeypatch.setenv("SYNLIB_AE_GROUP_BYTES", value)
        keys[value] = [job.key for job in make_jobs(plan, plan.runs, {})]
    assert all(a != b for a, b in zip(keys["1"], keys["2"]))


def test_the_command_line_help_documents_the_kernel_cache_and_how_to_clear_it():
    done = subprocess.run([sys.executable, "-m", "synlib", "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(paths.ROOT)})
    assert done.returncode == 0
    assert "$SYNLIB_CACHE" in done.stdout and "mode 0700" in done.stdout and "rm -rf .cache/kernels" in done.stdout
