// Measures the appliance-runtime server: cold start, RSS idle and with 5,000 ConfigMaps, list latency, write rate, idle disk writes.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: RuntimeBench <path to appliance-runtime.dll> [--objects N] [--writers N] [--idle-seconds N] [--heartbeat-seconds N]");
    return 2;
}
var dll = Path.GetFullPath(args[0]);
int objects = Arg("--objects", 5000), writers = Arg("--writers", 50), idleSeconds = Arg("--idle-seconds", 660), heartbeatSeconds = Arg("--heartbeat-seconds", 10);
int Arg(string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
if (Array.IndexOf(args, "--soak-seconds") >= 0) return await Soak.RunAsync(dll, Arg("--soak-seconds", 600));
if (Array.IndexOf(args, "--controllers") >= 0) return await ControllersBench.RunAsync(dll, Arg("--rounds", 5));

var root = Directory.CreateTempSubdirectory("runtime-bench-").FullName;
try
{
    Console.WriteLine($"appliance-runtime benchmark: {dll}");
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

    // 1. Cold start to /readyz: first start (creates the PKI and the database) and restarts.
    var firstStarts = new List<double>();
    var restarts = new List<double>();
    for (int i = 0; i < 5; i++)
    {
        var dir = Path.Combine(root, $"cold-{i}");
        var port = Server.FreePort();
        await using (var s = await Server.StartAsync(dll, dir, port)) firstStarts.Add(s.StartMs);
        await using (var s = await Server.StartAsync(dll, dir, port)) restarts.Add(s.StartMs);
    }
    Report("cold start to /readyz, first start (PKI + DB created), median of 5", Median(firstStarts), "ms", 2000, "target ≤ 2000 ms");
    Report("cold start to /readyz, restart, median of 5", Median(restarts), "ms", 2000, "target ≤ 2000 ms");

    // 2. Idle RSS, then load.
    var data = Path.Combine(root, "main");
    await using var server = await Server.StartAsync(dll, data, Server.FreePort());
    using var http = server.Client(writers);
    await Task.Delay(TimeSpan.FromSeconds(5));
    var idleRss = server.RssMb();
    Report("RSS idle (5 s after ready)", idleRss, "MB", 150, "target ≤ 150 MB; K3s server: 768–1600 MB (issue)");
    Console.WriteLine($"  ratio vs K3s low end (768 MB): {idleRss / 768:F3}");

    // 3. Writes per second with N concurrent writers (creates of small ConfigMaps).
    await Server.SendAsync(http, HttpMethod.Post, "/api/v1/namespaces", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "bench" } });
    var sw = Stopwatch.StartNew();
    int next = -1;
    await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < objects)
            await Server.SendAsync(http, HttpMethod.Post, "/api/v1/namespaces/bench/configmaps", ConfigMap($"cm-{i:D5}", i));
    })));
    var writeRate = objects / sw.Elapsed.TotalSeconds;
    Report($"writes/s, {writers} concurrent writers ({objects} creates, each fsynced)", writeRate, "writes/s", null, "");

    // 4. List latency over all objects.
    var lat = new List<double>();
    long bytes = 0;
    for (int i = 0; i < 60; i++)
    {
        var t = Stopwatch.StartNew();
        var body = await http.GetByteArrayAsync("/api/v1/namespaces/bench/configmaps");
        lat.Add(t.Elapsed.TotalMilliseconds);
        bytes = body.Length;
        if (i == 0 && JsonNode.Parse(body)!["items"]!.AsArray().Count != objects) throw new InvalidOperationException("list returned the wrong count");
    }
    lat = lat.Skip(10).OrderBy(x => x).ToList();
    Report($"list of {objects} ConfigMaps ({bytes / 1024} KiB JSON), p50", Percentile(lat, 0.50), "ms", null, "");
    Report($"list of {objects} ConfigMaps, p99", Percentile(lat, 0.99), "ms", null, "");
    await Task.Delay(TimeSpan.FromSeconds(3));
    Report($"RSS with {objects} ConfigMaps stored (after the lists)", server.RssMb(), "MB", null, "");

    // 5. Disk writes of an idle one-node cluster: a node whose kubelet renews its Lease every heartbeatSeconds.
    var dir2 = Path.Combine(root, "idle");
    await using var idle = await Server.StartAsync(dll, dir2, Server.FreePort());
    using var client = idle.Client(2);
    await Server.SendAsync(client, HttpMethod.Post, "/api/v1/nodes", Node());
    var lease = await Server.SendAsync(client, HttpMethod.Post, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", Lease());
    var leaseBytes = Encoding.UTF8.GetByteCount(lease.ToJsonString());
    await Task.Delay(TimeSpan.FromSeconds(2));
    var before = idle.WriteBytes();
    var renewals = 0;
    var until = DateTime.UtcNow.AddSeconds(idleSeconds);
    while (DateTime.UtcNow < until)
    {
        lease["spec"]!["renewTime"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'");
        lease = await Server.SendAsync(client, HttpMethod.Put, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1", lease);
        renewals++;
        await Task.Delay(TimeSpan.FromSeconds(heartbeatSeconds));
    }
    var written = idle.WriteBytes() - before;
    var perHour = written * 3600.0 / idleSeconds;
    Report($"bytes written per hour, idle 1-node cluster, lease renewed every {heartbeatSeconds} s (measured {idleSeconds} s, /proc/pid/io write_bytes)", perHour / 1024, "KiB/h", null, "");
    // kine (K3s) commits each renewal as a new row holding the new and the previous value. Two references, both
    // estimates (K3s cannot run here): the row bytes alone (a floor), and one 4 KiB SQLite WAL frame per commit,
    // the least SQLite writes for a committed transaction.
    var renewalsPerHour = 3600.0 / heartbeatSeconds;
    var kineRows = renewalsPerHour * leaseBytes * 2;
    var kinePages = renewalsPerHour * 4096;
    Console.WriteLine($"  reference (estimate) kine row bytes for the same renewals: 2 × {leaseBytes} B × {renewalsPerHour:F0}/h = {kineRows / 1024:F1} KiB/h; ratio {perHour / kineRows:F3}");
    Console.WriteLine($"  reference (estimate) one 4 KiB WAL frame per renewal commit: {kinePages / 1024:F1} KiB/h; ratio {perHour / kinePages:F3}");
    Console.WriteLine($"  ({renewals} renewals during the measurement)");
    return 0;
}
finally
{
    try { Directory.Delete(root, true); } catch (IOException) { }
}

static void Report(string what, double value, string unit, double? target, string note)
{
    var verdict = target is null ? "" : value <= target ? "  [meets target]" : "  [MISSES target]";
    Console.WriteLine($"{what}: {value:F1} {unit}{verdict}{(note.Length > 0 ? "  (" + note + ")" : "")}");
}

static double Median(List<double> xs) => Percentile(xs.OrderBy(x => x).ToList(), 0.5);

static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

static JsonObject ConfigMap(string name, int i)
{
    var data = new JsonObject();
    for (int k = 0; k < 8; k++) data[$"key{k}"] = $"value-{i}-{k}-{new string('x', 24)}";
    return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "bench", ["shard"] = $"{i % 10}" } }, ["data"] = data };
}

static JsonObject Node() => JsonNode.Parse("""
{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-1","labels":{"kubernetes.io/hostname":"edge-1","node-role.kubernetes.io/control-plane":"true"}},
 "status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","lastHeartbeatTime":"2026-01-01T00:00:00Z"}],
 "nodeInfo":{"kubeletVersion":"v1.32.0-appliance"},"addresses":[{"type":"InternalIP","address":"10.0.0.5"}]}}
""")!.AsObject();

static JsonObject Lease() => JsonNode.Parse("""
{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"edge-1","namespace":"kube-node-lease"},
 "spec":{"holderIdentity":"edge-1","leaseDurationSeconds":40,"renewTime":"2026-01-01T00:00:00.000000Z"}}
""")!.AsObject();

/// <summary>One server process.</summary>
sealed class Server : IAsyncDisposable
{
    readonly Process _p;
    public required string DataDir { get; init; }
    public required int Port { get; init; }
    public double StartMs { get; private set; }
    readonly List<string> _warnings = [];

    /// <summary>The server's warning and error log lines so far (the bench prints them so a cut watch has its cause).</summary>
    public IReadOnlyList<string> Warnings { get { lock (_warnings) return [.. _warnings]; } }

    void Keep(string? line)
    {
        if (line is not null && (line.Contains("warn:") || line.Contains("fail:") || line.Contains("crit:"))) lock (_warnings) _warnings.Add(line);
    }

    Server(Process p) => _p = p;

    /// <summary>A free TCP port on loopback.</summary>
    public static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Sends a JSON body; retries 429 after Retry-After, as client-go does; throws on other failures.</summary>
    public static async Task<JsonObject> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject body, string contentType = "application/json")
    {
        while (true)
        {
            using var req = new HttpRequestMessage(method, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, contentType) };
            using var r = await http.SendAsync(req);
            var text = await r.Content.ReadAsStringAsync();
            // Past the server's in-flight limit: wait as Retry-After says and send again, as client-go does.
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(r.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)r.StatusCode} {text}");
            return JsonNode.Parse(text)!.AsObject();
        }
    }

    public static async Task<Server> StartAsync(string dll, string dataDir, int port)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "server", "--data-dir", dataDir, "--https-listen-port", port.ToString(), "--bind-address", "127.0.0.1", "--disable-agent" })
            psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        var s = new Server(Process.Start(psi)!) { DataDir = dataDir, Port = port };
        s._p.OutputDataReceived += (_, e) => s.Keep(e.Data);
        s._p.ErrorDataReceived += (_, e) => s.Keep(e.Data);
        s._p.BeginOutputReadLine();
        s._p.BeginErrorReadLine();
        using var probe = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }) { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (s._p.HasExited) throw new InvalidOperationException("server exited during start");
            try
            {
                if ((await probe.GetAsync($"https://127.0.0.1:{port}/readyz")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) { }
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("server not ready in 60 s");
            await Task.Delay(10);
        }
        s.StartMs = sw.Elapsed.TotalMilliseconds;
        return s;
    }

    public HttpClient Client(int connections)
    {
        var tls = Path.Combine(DataDir, "tls");
        var cert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tls, "client-admin.crt")), File.ReadAllText(Path.Combine(tls, "client-admin.key")));
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        handler.SslOptions.ClientCertificates = [cert];
        var c = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{Port}"), Timeout = TimeSpan.FromMinutes(2) };
        c.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return c;
    }

    public double RssMb()
    {
        foreach (var line in File.ReadLines($"/proc/{_p.Id}/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }

    public long WriteBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_p.Id}/io"))
            if (line.StartsWith("write_bytes:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_p.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _p.Id.ToString()])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try { await _p.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { _p.Kill(true); }
        }
        _p.Dispose();
    }
}
