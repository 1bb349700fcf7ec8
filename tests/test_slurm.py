"""A real farm: the README's Slurm array script, submitted as written to a single-node Slurm (slurmctld, slurmd and
munged, Debian's slurm-wlm and munge, installed by `build.py setup`) that the test starts as root with its config,
key, state and logs in a folder of its own, and stops afterwards. No cgroups: processes are tracked through /proc
(proctrack/linuxproc) and tasks are not confined (task/none).
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from test_readme import readme_blocks

JOBS, SHARDS = 8, 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, ready, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"{what} did not come up within {seconds:.0f} s"
        time.sleep(0.2)


@pytest.fixture
def slurm(tmp_path):
    """The environment that reaches a one-node Slurm cluster running on this machine."""
    assert os.geteuid() == 0, "the Slurm test starts munged, slurmctld and slurmd as root: run the suite as root"
    folder = tmp_path / "slurm"
    (folder / "state").mkdir(parents=True)
    (folder / "spool").mkdir()
    key, munge_socket = folder / "munge.key", folder / "munge.socket"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
    key.chmod(0o600)
    host = socket.gethostname().split(".")[0]  # slurmctld runs only where SlurmctldHost names this host
    conf = folder / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=editemotalk",
                f"SlurmctldHost={host}(127.0.0.1)",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"SlurmctldPort={free_port()}",
                f"SlurmdPort={free_port()}",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={munge_socket}",
                f"StateSaveLocation={folder / 'state'}",
                f"SlurmdSpoolDir={folder / 'spool'}",
                f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
                f"SlurmdPidFile={folder / 'slurmd.pid'}",
                f"SlurmctldLogFile={folder / 'slurmctld.log'}",
                f"SlurmdLogFile={folder / 'slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_CPU",
                "ReturnToService=2",
                "MpiDefault=none",
                "JobCompType=jobcomp/none",
                "AccountingStorageType=accounting_storage/none",
                "JobAcctGatherType=jobacct_gather/none",
                f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN",
                "PartitionName=farm Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            ]
        )
        + "\n"
    )
    env = dict(os.environ, SLURM_CONF=str(conf))
    daemons = []
    with open(folder / "daemons.log", "w") as log:

        def start(*command):
            daemons.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))

        try:
            start("munged", "--foreground", "--force", f"--socket={munge_socket}", f"--key-file={key}",
                  f"--pid-file={folder / 'munged.pid'}", f"--log-file={folder / 'munged.log'}",
                  f"--seed-file={folder / 'munged.seed'}")  # fmt: skip
            wait_for("munged", munge_socket.exists)
            start("slurmctld", "-D", "-c", "-f", str(conf))  # -c: no state from an earlier run
            start("slurmd", "-D", "-f", str(conf))
            idle = lambda: "idle" in subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                                                    text=True).stdout  # fmt: skip
            wait_for("the Slurm node", idle)
            yield env
        finally:
            for daemon in reversed(daemons):
                daemon.terminate()
                try:
                    daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
    assert all(d.returncode is not None for d in daemons) and len(daemons) == 3  # every daemon it started, stopped


def test_the_readmes_slurm_array_bakes_every_job_exactly_once(slurm, tmp_path, speech_wav):
    work = tmp_path / "work"
    (work / "lines").mkdir(parents=True)
    lines = []
    for i in range(JOBS):
        (work / "lines" / f"{i}.wav").write_bytes(speech_wav.read_bytes())
        lines.append(json.dumps({"audio": f"lines/{i}.wav", "emotion": {"happy": i / 10}, "csv": f"out/{i}.csv"}))
    (work / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    script = next(b for b in readme_blocks("### Thousands of lines") if b.startswith("#!/bin/bash\n#SBATCH"))
    assert f"--array=0-{SHARDS - 1}" in script
    (work / "farm.sh").write_text(script)
    env = dict(slurm, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(ROOT))
    start = time.monotonic()
    r = subprocess.run(["sbatch", "--wait", "farm.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=900)
    logs = {p.name: p.read_text() for p in sorted(work.glob("slurm-*.out"))}
    assert r.returncode == 0, r.stdout + r.stderr + "".join(logs.values())[-4000:]
    print(f"Slurm array of {SHARDS} tasks, {JOBS} jobs: {time.monotonic() - start:.1f} s")
    assert len(logs) == SHARDS and all("2 baked, 0 up to date, 0 failed" in log for log in logs.values()), logs
    outputs = sorted(p.name for p in (work / "out").iterdir())  # every output once, with its record, nothing else
    assert outputs == sorted([f"{i}.csv" for i in range(JOBS)] + [f"{i}.csv.eet.json" for i in range(JOBS)])
    for shard in range(SHARDS):
        summary = json.loads((work / f"jobs.shard{shard}of{SHARDS}.summary.json").read_text())
        assert (summary["jobs"], summary["done"], summary["failures"]) == (JOBS // SHARDS, JOBS // SHARDS, [])
