import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.neo4j.configuration.Config;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.io.ByteUnit;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.impl.security.User;
import org.neo4j.kernel.internal.Version;
import org.neo4j.logging.NullLogProvider;
import org.neo4j.memory.EmptyMemoryTracker;
import org.neo4j.server.security.auth.CommunitySecurityModule;
import org.neo4j.server.security.auth.FileUserRepository;
import org.neo4j.server.security.auth.LegacyCredential;

/**
 * Runs an embedded Neo4j Community DBMS with a Bolt connector (and optionally the Neo4j Browser)
 * on 127.0.0.1. Driven by graphstore/local_neo4j.py.
 *
 * <p>Usage: java -cp CLASSPATH Launcher --home DIR [--bolt-port N] [--http-port N] [--static /PREFIX/=DIR]
 * [--settings FILE] [--user NAME] [--watch-stdin] [--delete-home] [--warmup]
 *
 * <p>Bolt port 0 (the default) picks a free port; HTTP port 0 lets the OS pick. Auth is enabled iff --user is given; the password is
 * read from the NEO4J_LAUNCHER_PASSWORD environment variable so it never shows up in `ps`.
 * Prints "READY bolt://127.0.0.1:PORT" (preceded by "BROWSER http://127.0.0.1:PORT/" when the
 * Browser is served) once the database answers queries. --watch-stdin: exit when stdin closes;
 * --delete-home: remove the home folder on exit (after a successful start).
 *
 * <p>--static serves the files of DIR under /PREFIX/ beside the Browser (same origin, so the Browser
 * fetches them without CORS). --settings: a file of further Neo4j settings in neo4j.conf syntax (such as
 * browser.post_connect_cmd); "{browser}" in it stands for the Browser's address, http://127.0.0.1:PORT,
 * known only once the HTTP port is bound, which is why it is bound before the DBMS starts.
 */
public final class Launcher {
    private static volatile boolean ready;

    public static void main(String[] args) {
        try {
            run(parseArgs(args));
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1); // Neo4j's non-daemon threads would otherwise keep a failed JVM alive
        }
    }

    private static void run(Map<String, String> opts) throws Exception {
        Path home = Path.of(required(opts, "home")).toAbsolutePath();
        int boltPort = Integer.parseInt(opts.getOrDefault("bolt-port", "0"));
        if (boltPort == 0) {
            // Bolt must know its port up front: it is also the advertised address in the routing
            // table that neo4j:// clients follow (the default, localhost:7687, may be another server).
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                boltPort = probe.getLocalPort();
            }
        }
        SocketAddress boltAddress = new SocketAddress("127.0.0.1", boltPort);
        String user = opts.get("user");
        String password = System.getenv("NEO4J_LAUNCHER_PASSWORD");
        if (user != null && (password == null || password.isEmpty())) {
            throw new IllegalArgumentException("--user needs NEO4J_LAUNCHER_PASSWORD in the environment");
        }

        // On a new store the password of the default user "neo4j" goes in through the initial-user
        // file, as `neo4j-admin dbms set-initial-password` does: ~1.5 s faster than ALTER USER.
        boolean initialPassword = "neo4j".equals(user) && !Files.exists(home.resolve("data/databases/system"));
        if (initialPassword) {
            writeInitialPassword(home, password);
        }

        String boltUri = "bolt://127.0.0.1:" + boltPort;
        HttpServer http = null;
        if (opts.containsKey("http-port")) {
            http = startBrowser(Integer.parseInt(opts.get("http-port")), boltUri, opts.get("static"));
        }
        String browserUrl = http == null ? null : "http://127.0.0.1:" + http.getAddress().getPort();
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        if (opts.containsKey("settings")) {
            builder.loadPropertiesFromFile(settingsFile(Path.of(opts.get("settings")), home, browserUrl));
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, boltAddress)
                .setConfig(BoltConnector.advertised_address, boltAddress)
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, user != null)
                // The initial-user file skips the length check; be equally lenient on the Cypher path.
                .setConfig(GraphDatabaseSettings.auth_minimum_password_length, 1)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(256))
                // A throwaway server needs neither 250 MB of preallocated tx log nor big log files.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(32))
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseInternalSettings.udc_network_enabled, false)
                .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                // Netty's default graceful shutdown idles ~10 s before the Bolt server stops.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2))
                .build();
        // Registered right after build so that even a failed start below releases the store lock.
        boolean deleteHome = opts.containsKey("delete-home");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            if (deleteHome && ready) { // a failed start keeps its logs
                deleteTree(home);
            }
        }, "neo4j-shutdown"));

        if (user != null && !initialPassword) {
            setPassword(dbms, user, password);
        }
        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        db.executeTransactionally("RETURN 1");

        if (browserUrl != null) {
            System.out.println("BROWSER " + browserUrl + "/");
        }
        System.out.println("READY " + boltUri);
        System.out.flush();
        ready = true;

        if (opts.containsKey("warmup")) {
            // Run once with -XX:ArchiveClassesAtExit to record a class-data-sharing archive
            // that makes later starts load classes much faster.
            db.executeTransactionally("CREATE CONSTRAINT warmup IF NOT EXISTS FOR (n:Warmup) REQUIRE n.k IS UNIQUE");
            db.executeTransactionally("MERGE (n:Warmup {k: 1}) WITH n MATCH (m:Warmup) DETACH DELETE m");
            System.exit(0);
        }

        if (opts.containsKey("watch-stdin")) {
            // The parent holds our stdin open; EOF means it went away, so we go too.
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {
                        // ignore input
                    }
                } catch (IOException ignored) {
                    // treat as EOF
                }
                System.exit(0);
            }, "stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        Thread.currentThread().join(); // the DBMS threads keep running; wait for a signal or EOF
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException ignored) {
            // best effort; the parent removes it too when it can
        }
    }

    private static void writeInitialPassword(Path home, String password) throws Exception {
        Config config = Config.newBuilder().set(GraphDatabaseSettings.neo4j_home, home).build();
        FileUserRepository users = new FileUserRepository(new DefaultFileSystemAbstraction(),
                CommunitySecurityModule.getInitialUserRepositoryFile(config), NullLogProvider.getInstance(),
                EmptyMemoryTracker.INSTANCE);
        users.start();
        users.create(new User("neo4j", null, LegacyCredential.forPassword(password), false, false));
        users.shutdown();
    }

    private static void setPassword(DatabaseManagementService dbms, String user, String password) {
        var system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        Map<String, Object> params = Map.of("user", user, "password", password);
        system.executeTransactionally(
                "CREATE USER $user IF NOT EXISTS SET PASSWORD $password CHANGE NOT REQUIRED", params);
        try {
            system.executeTransactionally("ALTER USER $user SET PASSWORD $password CHANGE NOT REQUIRED", params);
        } catch (QueryExecutionException e) {
            // A reused store may already have this password, which ALTER USER refuses to "change".
            if (!e.getMessage().contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    /** The settings file with "{browser}" replaced by the Browser's address, written beside the logs. */
    private static Path settingsFile(Path file, Path home, String browserUrl) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        if (text.contains("{browser}")) {
            if (browserUrl == null) {
                throw new IllegalArgumentException(file + " names {browser} but no --http-port is given");
            }
            text = text.replace("{browser}", browserUrl);
        }
        Path resolved = home.resolve("logs").resolve("launcher-settings.conf");
        Files.createDirectories(resolved.getParent());
        Files.writeString(resolved, text, StandardCharsets.UTF_8);
        return resolved;
    }

    /**
     * Serves the Browser's static files from the neo4j-browser jar, plus the discovery JSON it asks for, and
     * the files of a folder under a prefix when `mount` ("/PREFIX/=DIR") is given.
     */
    private static HttpServer startBrowser(int port, String boltUri, String mount) throws IOException {
        if (Launcher.class.getClassLoader().getResource("browser/index.html") == null) {
            throw new IllegalStateException("neo4j-browser jar is not on the classpath");
        }
        String discovery = "{\"bolt_direct\":\"" + boltUri + "\",\"bolt_routing\":\""
                + boltUri.replace("bolt://", "neo4j://") + "\",\"neo4j_version\":\"" + Version.getNeo4jVersion()
                + "\",\"neo4j_edition\":\"community\"}";
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                serve(exchange, discovery);
            }
        });
        if (mount != null && !mount.isEmpty()) {
            int eq = mount.indexOf('=');
            String prefix = eq > 0 ? mount.substring(0, eq) : "";
            if (!prefix.startsWith("/") || !prefix.endsWith("/") || prefix.length() < 3) {
                throw new IllegalArgumentException("--static wants /PREFIX/=DIR, not " + mount);
            }
            Path root = Path.of(mount.substring(eq + 1)).toAbsolutePath().normalize();
            server.createContext(prefix, exchange -> {
                try (exchange) {
                    serveFile(exchange, root, exchange.getRequestURI().getPath().substring(prefix.length()));
                }
            });
        }
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "browser-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return server;
    }

    private static void serveFile(HttpExchange exchange, Path root, String relative) throws IOException {
        Path file = root.resolve(relative).normalize();
        if (relative.isEmpty() || !file.startsWith(root) || !Files.isRegularFile(file)) {
            send(exchange, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
            return;
        }
        exchange.getResponseHeaders().set("Cache-Control", "no-cache"); // rewritten at every start
        send(exchange, 200, contentType(file.getFileName().toString()), Files.readAllBytes(file));
    }

    private static void serve(HttpExchange exchange, String discovery) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (path.startsWith("/browser/")) {
            path = path.substring("/browser".length());
        }
        String accept = exchange.getRequestHeaders().getFirst("Accept");
        if (path.equals("/") && accept != null && accept.contains("application/json")) {
            send(exchange, 200, "application/json", discovery.getBytes(StandardCharsets.UTF_8));
            return;
        }
        if (path.endsWith("/")) {
            path += "index.html";
        }
        if (path.contains("..")) {
            send(exchange, 400, "text/plain", "bad path".getBytes(StandardCharsets.UTF_8));
            return;
        }
        try (InputStream in = Launcher.class.getClassLoader().getResourceAsStream("browser" + path)) {
            if (in == null) {
                send(exchange, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
                return;
            }
            send(exchange, 200, contentType(path), in.readAllBytes());
        }
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static String contentType(String path) {
        String ext = path.substring(path.lastIndexOf('.') + 1);
        return switch (ext) {
            case "html" -> "text/html; charset=utf-8";
            case "grass", "cypher", "txt" -> "text/plain; charset=utf-8";
            case "zip" -> "application/zip";
            case "js" -> "application/javascript";
            case "json" -> "application/json";
            case "css" -> "text/css";
            case "svg" -> "image/svg+xml";
            case "png" -> "image/png";
            case "jpg", "jpeg" -> "image/jpeg";
            case "ico" -> "image/x-icon";
            case "woff" -> "font/woff";
            case "woff2" -> "font/woff2";
            case "ttf" -> "font/ttf";
            case "mp4" -> "video/mp4";
            default -> "application/octet-stream";
        };
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + args[i]);
            }
            String key = args[i].substring(2);
            boolean hasValue = i + 1 < args.length && !args[i + 1].startsWith("--");
            opts.put(key, hasValue ? args[++i] : "");
        }
        return opts;
    }

    private static String required(Map<String, String> opts, String key) {
        String value = opts.get(key);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing --" + key);
        }
        return value;
    }
}
