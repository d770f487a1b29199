"""A throwaway Neo4j 5.26 Community server for development and tests, without Docker.

The jars come from Maven Central (resolved once with `mvn` into a cache folder); the server is
the embedded engine plus the Bolt connector, run by neo4j_launcher/Launcher.java on Java 17+,
optionally serving Neo4j Browser, ready for the lineage graph: the launcher serves the lineage
style, guide and favourites (graphstore.browser) beside the Browser, at /lineage/, and Browser
applies the style and opens the guide on connect. Later starts make no Maven call and load classes
from a class-data-sharing archive recorded on the first run.

The cache is shared by every checkout on the machine: each version of Launcher.java gets its own
folder (builds/<hash>/: the compiled jar and its class-data archives), never removed while
another checkout may use it (only after BUILD_RETENTION_DAYS without a start).

    with start_local_neo4j(auth=("neo4j", "secret-password")) as server:
        driver = GraphDatabase.driver(server.uri, auth=("neo4j", "secret-password"))
"""
from __future__ import annotations

import atexit
import collections
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from neo4j import GraphDatabase

from graphstore.browser import browser_settings, write_assets

Progress = Callable[[str], None] | None

_LAUNCHER_DIR = Path(__file__).resolve().parent / "neo4j_launcher"
_POM = _LAUNCHER_DIR / "pom.xml"
_LAUNCHER_SRC = _LAUNCHER_DIR / "Launcher.java"
NEO4J_VERSION: str = re.search(r"<neo4j.version>([^<]+)<", _POM.read_text()).group(1)  # type: ignore[union-attr]

_JVM_OPTIONS = [
    "-Xms256m",  # fewer heap resizes while starting; measured lower RSS too
    "-XX:-UsePerfData",
    "-XX:+ExitOnOutOfMemoryError",
    "-Xlog:cds*=off",  # an outdated sharing archive just makes the start slower; no need to warn
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
]
# A throwaway server (tests, the demo): C1 only, about half the start-up CPU; heavy queries run up
# to ~2x slower, which it can afford. LINEAGE_NEO4J_JAVA_OPTS="-XX:TieredStopAtLevel=4" undoes it.
_THROWAWAY_JVM_OPTIONS = ["-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
# A server under sustained load (benchmarks, `dev neo4j`): full JIT and Neo4j's own collector, as in production.
_SUSTAINED_JVM_OPTIONS = ["-Xmx2g", "-XX:+UseG1GC"]
# Where the launcher serves the Browser files, and the host every address it prints uses: Browser keeps
# styles and favourites per page address and fetches only from whitelisted hosts, so they must agree.
BROWSER_FILES_PREFIX = "/lineage/"
BROWSER_HOST = "127.0.0.1"
BUILD_RETENTION_DAYS = 14


def _say(progress: Progress, message: str) -> None:
    if progress:
        progress(message)


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "sagemaker-lineage-collector" / f"neo4j-{NEO4J_VERSION}"
    path = Path(os.environ.get("LINEAGE_NEO4J_CACHE") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    # Two processes preparing the cache at once would run Maven twice and race on the files.
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise RuntimeError("Java 17 or newer is needed to run a local Neo4j (no `java` found)")
    return java


def _run(cmd: list[str], what: str, cwd: Path | None = None, timeout: float = 900) -> None:
    result = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{tail}")


def resolve_classpath(progress: Progress = None) -> str:
    """The Neo4j jars' classpath; runs Maven on the first call only (the result is cached)."""
    cache = cache_dir()
    cp_file, pom_copy = cache / "classpath.txt", cache / "pom.xml"
    pom = _POM.read_bytes()
    with _cache_lock(cache):
        if cp_file.exists() and pom_copy.exists() and pom_copy.read_bytes() == pom:
            classpath = cp_file.read_text().strip()
            if all(os.path.exists(jar) for jar in classpath.split(os.pathsep)):
                return classpath
        mvn = shutil.which("mvn")
        if not mvn:
            raise RuntimeError("Maven (`mvn`) is needed once to fetch the Neo4j jars from Maven Central")
        _say(progress, f"resolving Neo4j {NEO4J_VERSION} jars with Maven (first run only)…")
        pom_copy.write_bytes(pom)  # Maven runs in the cache, never in the (maybe read-only) package
        tmp = cache / "classpath.txt.tmp"
        _run([mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom_copy),
              "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath",
              f"-Dmdep.outputFile={tmp}"], "Maven dependency resolution", cwd=cache)
        tmp.replace(cp_file)
        return cp_file.read_text().strip()


def _launcher_jar(cache: Path, classpath: str) -> Path:
    """Launcher.java compiled once into a jar (class-data sharing only archives classes from jars), in a
    folder of its own per version of the source, so that checkouts with different launchers share the cache."""
    source = _LAUNCHER_SRC.read_bytes()
    build = cache / "builds" / hashlib.sha256(source).hexdigest()[:12]
    jar = build / "launcher.jar"
    build.mkdir(parents=True, exist_ok=True)
    (build / "last-used").touch()  # what _prune_builds goes by (the jar's own time must not change: CDS checks it)
    if jar.exists():
        return jar
    javac = Path(os.path.realpath(_java())).with_name("javac")
    javac_cmd = str(javac) if javac.exists() else shutil.which("javac")
    if not javac_cmd:
        raise RuntimeError("a JDK 17 or newer (with javac) is needed to run a local Neo4j")
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        _run([javac_cmd, "-nowarn", "-d", tmp,
              "-cp", classpath, str(_LAUNCHER_SRC)], "compiling Launcher.java")
        partial = jar.with_suffix(".tmp")
        with zipfile.ZipFile(partial, "w") as zf:
            for cls in Path(tmp).glob("*.class"):
                zf.write(cls, cls.name)
        partial.replace(jar)
    _prune_builds(cache, keep=build)
    return jar


def _prune_builds(cache: Path, keep: Path) -> None:
    """Drop the builds of other launcher versions not started for BUILD_RETENTION_DAYS (their class-data
    archives are ~100 MB each). A build in use by another checkout is started, hence kept. Files of the
    earlier flat layout (launcher-*.jar, classes-*.jsa in the cache root) belong to checkouts of older
    code, which clean them up themselves; they are left alone."""
    horizon = time.time() - BUILD_RETENTION_DAYS * 86400
    for build in (cache / "builds").iterdir():
        marker = build / "last-used"
        if build == keep or not build.is_dir():
            continue
        # (under the cache lock, a build without its jar is a failed compile, not one under way)
        if (build / "launcher.jar").exists() and marker.exists() and marker.stat().st_mtime > horizon:
            continue
        shutil.rmtree(build, ignore_errors=True)


def _command(java: str, classpath: str, home: Path, *args: str, archive: list[str],
             sustained: bool = False) -> list[str]:
    profile = _SUSTAINED_JVM_OPTIONS if sustained else _THROWAWAY_JVM_OPTIONS
    extra = shlex.split(os.environ.get("LINEAGE_NEO4J_JAVA_OPTS", ""))
    return [java, *_JVM_OPTIONS, *profile, *archive, *extra, "-cp", classpath, "Launcher", "--home", str(home), *args]


def _sharing_archive(java: str, classpath: str, build: Path, progress: Progress) -> list[str]:
    """JVM options that use a class-data-sharing archive (kept in the launcher's build folder),
    recorded by a warm-up run if missing.

    Loading Neo4j's ~20k classes from the archive takes about 2 s off every start.
    """
    java_stat = os.stat(os.path.realpath(java))
    key = f"{classpath}|{os.path.realpath(java)}|{java_stat.st_mtime_ns}".encode()
    archive = build / f"classes-{hashlib.sha256(key).hexdigest()[:12]}.jsa"
    failed = archive.with_suffix(".failed")
    if archive.exists():
        return [f"-XX:SharedArchiveFile={archive}"]
    if failed.exists():
        return []
    _say(progress, "recording a class-data archive for faster starts (first run only)…")
    partial = archive.with_suffix(".tmp")
    with tempfile.TemporaryDirectory(prefix="neo4j-warmup-") as home:
        cmd = _command(java, classpath, Path(home), "--http-port", "0", "--user", "neo4j", "--warmup",
                       archive=[f"-XX:ArchiveClassesAtExit={partial}"])
        env = {**os.environ, "NEO4J_LAUNCHER_PASSWORD": "warmup-password"}
        result = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=300)
    if result.returncode != 0 or not partial.exists():
        failed.write_text(result.stdout[-5000:])  # don't pay for a failing warm-up on every start
        return []
    partial.replace(archive)
    for other in build.glob("classes-*"):  # this build's archives for another JDK or classpath
        if other not in (archive, archive.with_suffix(".failed")):
            other.unlink(missing_ok=True)
    return [f"-XX:SharedArchiveFile={archive}"]


_running: set[LocalNeo4j] = set()


@dataclass(eq=False)
class LocalNeo4j:
    uri: str
    browser_url: str | None  # http://127.0.0.1:PORT/
    process: subprocess.Popen[str]
    data_dir: Path
    _remove_data_dir: bool = field(default=False, repr=False)
    browser_files_url: str | None = None  # where the style, guide and favourites are served, ending in /

    def browser_file(self, name: str) -> str:
        """The address of one of graphstore.browser's files (STYLE_FILE, GUIDE_FILE, FAVORITES_FILE)."""
        if not self.browser_files_url:
            raise RuntimeError("this server does not serve the Browser files")
        return self.browser_files_url + name

    def stop(self, timeout: float = 20) -> None:
        """Shut the server down cleanly (SIGTERM), killing it if that takes over `timeout` s."""
        _running.discard(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()
        if self._remove_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalNeo4j:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop(timeout=10)


class _Output:
    """Drains the JVM's stdout+stderr (so it can never block on a full pipe), keeping a tail."""

    def __init__(self, process: subprocess.Popen[str], log_file: Path) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self.ready = threading.Event()
        self.eof = False
        self.bolt: str | None = None
        self.browser: str | None = None
        threading.Thread(target=self._read, args=(process, log_file), daemon=True).start()

    def _read(self, process: subprocess.Popen[str], log_file: Path) -> None:
        assert process.stdout is not None
        with open(log_file, "a") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                line = line.rstrip("\n")
                self.tail.append(line)
                if line.startswith("BROWSER "):
                    self.browser = line.split(" ", 1)[1]
                elif line.startswith("READY "):
                    self.bolt = line.split(" ", 1)[1]
                    self.ready.set()
        self.eof = True  # the JVM has gone (or is going); wake the waiter
        self.ready.set()


def _write_settings(path: Path, settings: dict[str, str]) -> None:
    """Neo4j settings in neo4j.conf syntax (Launcher --settings): one `name=value` a line, taken as is."""
    if any("\n" in k + v or "=" in k for k, v in settings.items()):
        raise ValueError(f"a setting neo4j.conf cannot hold: {settings}")
    path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")


def start_local_neo4j(bolt_port: int | None = None, data_dir: Path | None = None,
                      auth: tuple[str, str] | None = None, browser: bool = True,
                      http_port: int | None = None, progress: Progress = None,
                      startup_timeout: float = 240, sustained: bool = False,
                      browser_files: bool = True) -> LocalNeo4j:
    """Start a local Neo4j and return once `RETURN 1` works over Bolt.

    With `browser`, Neo4j Browser is served on `http_port`; with `browser_files` too, the lineage style,
    guide and favourites beside it (written into the server's folder at each start), and Browser
    applies the style and opens the guide when a user connects.

    `sustained` configures the JVM as production would (full JIT, G1) for servers that do more than
    a test's worth of work; the default favours a fast start.

    Ports that are None or 0 are picked by the OS. Without `data_dir` the database lives in a
    temporary folder removed by stop(). With `auth` the given user gets that password;
    without it, auth is disabled. The server also stops when this Python process exits.
    """
    classpath = resolve_classpath(progress)
    cache = cache_dir()
    java = _java()
    with _cache_lock(cache):
        launcher = _launcher_jar(cache, classpath)
        full_classpath = f"{launcher}{os.pathsep}{classpath}"
        archive = _sharing_archive(java, full_classpath, launcher.parent, progress)

    remove_data_dir = data_dir is None
    home = Path(tempfile.mkdtemp(prefix="neo4j-")) if data_dir is None else Path(data_dir).resolve()
    (home / "logs").mkdir(parents=True, exist_ok=True)
    args = ["--bolt-port", str(bolt_port or 0), "--watch-stdin"]
    if remove_data_dir:
        args.append("--delete-home")  # so that it goes even if this process is killed
    if browser:
        args += ["--http-port", str(http_port or 0)]
    if browser and browser_files:
        files = home / "browser-files"
        write_assets(files)
        settings = home / "browser-settings.conf"
        # {browser} is the Browser's address, http://127.0.0.1:PORT, which the launcher knows once it has bound the port.
        _write_settings(settings, browser_settings("{browser}" + BROWSER_FILES_PREFIX, BROWSER_HOST))
        args += ["--static", f"{BROWSER_FILES_PREFIX}={files}", "--settings", str(settings)]
    env = dict(os.environ)
    if auth:
        args += ["--user", auth[0]]
        env["NEO4J_LAUNCHER_PASSWORD"] = auth[1]  # not on the command line, where `ps` shows it

    _say(progress, "starting Neo4j…")
    # stdin stays open as a lifeline: when this process dies, the JVM reads EOF and shuts down.
    command = _command(java, full_classpath, home, *args, archive=archive, sustained=sustained)
    process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    output = _Output(process, home / "logs" / "launcher.log")
    server = LocalNeo4j(uri="", browser_url=None, process=process, data_dir=home,
                        _remove_data_dir=remove_data_dir)
    _running.add(server)
    try:
        if not output.ready.wait(startup_timeout) or output.bolt is None:
            try:  # the output may end a moment before the exit status is known
                problem = f"exited with code {process.wait(5 if output.eof else 0.1)}"
            except subprocess.TimeoutExpired:
                problem = f"was not ready after {startup_timeout:.0f} s"
            raise RuntimeError(f"local Neo4j {problem}; its last output:\n" + "\n".join(output.tail)
                               + f"\n(more in {home / 'logs'})")
        server.uri, server.browser_url = output.bolt, output.browser
        if output.browser and browser_files:
            server.browser_files_url = output.browser.rstrip("/") + BROWSER_FILES_PREFIX
        with GraphDatabase.driver(server.uri, auth=auth) as driver:
            driver.execute_query("RETURN 1")
    except BaseException:
        server._remove_data_dir = False  # keep the logs the error message points to
        server.stop(timeout=5)
        raise
    _say(progress, f"Neo4j ready at {server.uri}" + (f" (Browser: {server.browser_url})" if server.browser_url else ""))
    return server
