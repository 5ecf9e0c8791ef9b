// Soak mode: mixed reads, writes, watches, one stuck watcher and one client that leaves mid-list; RSS start/peak/end and errors by code.
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

static class Soak
{
    public static async Task<int> RunAsync(string dll, int seconds)
    {
        var root = Directory.CreateTempSubdirectory("runtime-soak-").FullName;
        try
        {
            await using var server = await Server.StartAsync(dll, Path.Combine(root, "data"), Server.FreePort());
            using var http = server.Client(16);
            var codes = new ConcurrentDictionary<string, int>();
            void Count(string code) => codes.AddOrUpdate(code, 1, (_, n) => n + 1);
            async Task<HttpResponseMessage?> Call(HttpMethod method, string path, JsonObject? body, CancellationToken ct)
            {
                try
                {
                    using var req = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
                    var r = await http.SendAsync(req, ct);
                    Count(((int)r.StatusCode).ToString());
                    return r;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return null;
                }
                catch (HttpRequestException e)
                {
                    Count("exception:" + e.HttpRequestError);
                    return null;
                }
            }

            await Call(HttpMethod.Post, "/api/v1/namespaces", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "soak" } }, default);
            for (int i = 0; i < 200; i++)
                (await Call(HttpMethod.Post, "/api/v1/namespaces/soak/configmaps", ConfigMap($"cm-{i:D3}", 1024 * (1 + i % 100)), default))?.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var start = server.RssMb();
            double peak = start;
            Console.WriteLine($"soak: {seconds} s; RSS at start {start:F1} MB");

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var ct = stop.Token;
            int watchEvents = 0, watchRestarts = 0, stuckCutOffs = 0, leftMidList = 0;
            var tasks = new List<Task>
            {
                Task.Run(async () =>
                {
                    while (!ct.IsCancellationRequested)
                    {
                        peak = Math.Max(peak, server.RssMb());
                        try { await Task.Delay(500, ct); } catch (OperationCanceledException) { }
                    }
                }),
            };
            // Writers: updates of 1-100 KB objects, creates and deletes.
            for (int w = 0; w < 4; w++)
            {
                var seed = w;
                tasks.Add(Task.Run(async () =>
                {
                    var rnd = new Random(seed);
                    while (!ct.IsCancellationRequested)
                    {
                        var i = rnd.Next(200);
                        var op = rnd.Next(10);
                        using var r = op switch
                        {
                            < 7 => await Call(HttpMethod.Put, $"/api/v1/namespaces/soak/configmaps/cm-{i:D3}", ConfigMap($"cm-{i:D3}", 1024 * (1 + rnd.Next(100))), ct),
                            < 9 => await Call(HttpMethod.Post, "/api/v1/namespaces/soak/configmaps", ConfigMap($"tmp-{seed}-{rnd.Next(50)}", 512), ct),
                            _ => await Call(HttpMethod.Delete, $"/api/v1/namespaces/soak/configmaps/tmp-{seed}-{rnd.Next(50)}", null, ct),
                        };
                    }
                }));
            }
            // Readers: gets, paged and full lists.
            for (int rd = 0; rd < 4; rd++)
            {
                var seed = 100 + rd;
                tasks.Add(Task.Run(async () =>
                {
                    var rnd = new Random(seed);
                    while (!ct.IsCancellationRequested)
                    {
                        var path = rnd.Next(4) switch
                        {
                            0 => "/api/v1/namespaces/soak/configmaps",
                            1 => "/api/v1/namespaces/soak/configmaps?limit=50",
                            _ => $"/api/v1/namespaces/soak/configmaps/cm-{rnd.Next(200):D3}",
                        };
                        using var r = await Call(HttpMethod.Get, path, null, ct);
                        if (r is not null) try { await r.Content.CopyToAsync(Stream.Null, ct); } catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException) { }
                    }
                }));
            }
            // Normal watchers: read everything, re-watch when the stream ends.
            for (int wt = 0; wt < 3; wt++)
            {
                tasks.Add(Task.Run(async () =>
                {
                    using var client = server.Client(1);
                    client.Timeout = Timeout.InfiniteTimeSpan;
                    while (!ct.IsCancellationRequested)
                    {
                        try
                        {
                            using var r = await client.GetAsync("/api/v1/namespaces/soak/configmaps?watch=1&timeoutSeconds=60", HttpCompletionOption.ResponseHeadersRead, ct);
                            Count("watch:" + (int)r.StatusCode);
                            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync(ct));
                            while (await reader.ReadLineAsync(ct) is { } line)
                            {
                                using var doc = JsonDocument.Parse(line);
                                if (doc.RootElement.GetProperty("type").GetString() == "ERROR") Count("watch:ERROR");
                                Interlocked.Increment(ref watchEvents);
                            }
                            Interlocked.Increment(ref watchRestarts);
                        }
                        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
                        catch (Exception e) when (e is IOException or HttpRequestException)
                        {
                            Count("watch:broken");
                        }
                    }
                }));
            }
            // One stuck watcher: opens a watch, never reads; when the server cuts it off, it opens another.
            tasks.Add(Task.Run(async () =>
            {
                while (!ct.IsCancellationRequested)
                {
                    try
                    {
                        using var tls = await OpenRawAsync(server, "/api/v1/namespaces/soak/configmaps?watch=1", ct);
                        // Stuck for 20 s, then drain: a cut-off watch ends (EOF or reset) once the buffered bytes are read.
                        await Task.Delay(20_000, ct);
                        using var drain = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        drain.CancelAfter(TimeSpan.FromSeconds(15));
                        var buffer = new byte[256 * 1024];
                        try
                        {
                            while (await tls.ReadAsync(buffer, drain.Token) > 0) { }
                            Interlocked.Increment(ref stuckCutOffs);
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                            Count("stuck:not-cut-off");
                        }
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
                    catch (Exception e) when (e is IOException or SocketException)
                    {
                        Interlocked.Increment(ref stuckCutOffs);
                    }
                }
            }));
            // One client that leaves in the middle of a full list.
            tasks.Add(Task.Run(async () =>
            {
                while (!ct.IsCancellationRequested)
                {
                    try
                    {
                        using var client = server.Client(1);
                        using var r = await client.GetAsync("/api/v1/namespaces/soak/configmaps", HttpCompletionOption.ResponseHeadersRead, ct);
                        Count("midlist:" + (int)r.StatusCode);
                        await using var body = await r.Content.ReadAsStreamAsync(ct);
                        await body.ReadAtLeastAsync(new byte[64 * 1024], 64 * 1024, false, ct);
                        Interlocked.Increment(ref leftMidList);
                        await Task.Delay(1000, ct);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
                    catch (Exception e) when (e is IOException or HttpRequestException)
                    {
                        Count("midlist:broken");
                    }
                }
            }));
            await Task.WhenAll(tasks);
            await Task.Delay(TimeSpan.FromSeconds(10));
            var end = server.RssMb();
            Console.WriteLine($"RSS start {start:F1} MB, peak {peak:F1} MB, end (10 s after) {end:F1} MB");
            Console.WriteLine($"watch events read {watchEvents}, normal watch restarts {watchRestarts}, stuck watcher cut off {stuckCutOffs} times, lists left midway {leftMidList}");
            var warnings = server.Warnings;
            Console.WriteLine($"server warnings: {warnings.Count}");
            foreach (var group in warnings.GroupBy(w => System.Text.RegularExpressions.Regex.Replace(w, @"^\S+ |\d+", "#")).OrderByDescending(g => g.Count()).Take(10))
                Console.WriteLine($"  {group.Count()} x {group.First()}");
            Console.WriteLine("responses by code: " + string.Join(", ", codes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value}")));
            return 0;
        }
        finally
        {
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    static async Task<SslStream> OpenRawAsync(Server server, string path, CancellationToken ct)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { ReceiveBufferSize = 16 * 1024 };
        await tcp.ConnectAsync("127.0.0.1", server.Port, ct);
        var tls = new SslStream(tcp.GetStream(), false);
        var dir = Path.Combine(server.DataDir, "tls");
        using var pem = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "client-admin.crt")), File.ReadAllText(Path.Combine(dir, "client-admin.key")));
        var cert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ClientCertificates = [cert],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, ct);
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"), ct);
        return tls;
    }

    static JsonObject ConfigMap(string name, int bytes) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["data"] = new JsonObject { ["v"] = new string('s', bytes) },
    };

}
