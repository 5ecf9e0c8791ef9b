// Restart reuses the PKI, token and kubeconfig; a SIGKILL during a write load loses no acknowledged write.
using System.Collections.Concurrent;
using System.Net;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class RestartAndCrashTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly string[] Kept =
    [
        "tls/server-ca.crt", "tls/server-ca.key", "tls/client-ca.crt", "tls/client-ca.key",
        "tls/serving.crt", "tls/serving.key", "tls/client-admin.crt", "tls/client-admin.key",
        "token", "admin-token", "kubeconfig.yaml",
    ];

    [Fact]
    public async Task FirstStart_WritesPkiTokenAndKubeconfig_0600_AndRestartReusesThem()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        Dictionary<string, byte[]> before;
        await using (var first = await RuntimeProcess.StartAsync(data, port))
        {
            if (!OperatingSystem.IsWindows())
                foreach (var f in Kept)
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, f)));
            var token = File.ReadAllText(Path.Combine(data, "token")).Trim();
            var caHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(data, "tls", "server-ca.crt"))));
            Assert.Matches($"^K10{caHash}::server:[0-9a-f]{{32}}$", token);
            using (var anonymous = first.CreateClient(admin: false))
            {
                // An agent downloads /cacerts without credentials and pins it with the token's hash.
                var bundle = await anonymous.GetByteArrayAsync("/cacerts", Ct);
                Assert.Equal(caHash, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bundle)));
            }
            using var http = first.CreateClient();
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("survives")), Ct)).StatusCode);
            before = Kept.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(data, f)));
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(15)));
        }
        await using var second = await RuntimeProcess.StartAsync(data, port);
        foreach (var f in Kept)
            Assert.True(before[f].AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(data, f))), $"{f} changed on restart");
        using var again = second.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/v1/namespaces/default/configmaps/survives", Ct)).StatusCode);

        // A new --tls-san re-issues only the serving certificate.
        Assert.Equal(0, await second.StopAsync(TimeSpan.FromSeconds(15)));
        await using var third = await RuntimeProcess.StartAsync(data, port, "--tls-san", "edge.example.test");
        Assert.False(before["tls/serving.crt"].AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(data, "tls", "serving.crt"))));
        Assert.True(before["tls/server-ca.crt"].AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(data, "tls", "server-ca.crt"))));
        using var serving = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(data, "tls", "serving.crt")));
        var san = serving.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("edge.example.test", san.EnumerateDnsNames());
        Assert.Contains("kubernetes.default.svc", san.EnumerateDnsNames());
        Assert.Contains(IPAddress.Loopback, san.EnumerateIPAddresses());
    }

    [Fact]
    public async Task Sigkill_DuringWriteLoad_KeepsEveryAcknowledgedWrite()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        var acknowledged = new ConcurrentBag<string>();
        await using (var server = await RuntimeProcess.StartAsync(data, port))
        {
            using var http = server.CreateClient();
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    var name = $"w{w}-{i}";
                    try
                    {
                        var r = await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap(name, null, ("i", $"{i}"))), CancellationToken.None);
                        if (r.StatusCode == HttpStatusCode.Created) acknowledged.Add(name);
                    }
                    catch (HttpRequestException) { return; }
                    catch (TaskCanceledException) { return; }
                }
            }, Ct)).ToArray();
            await Task.Delay(1500, Ct);
            server.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
        Assert.True(acknowledged.Count > 50, $"only {acknowledged.Count} writes were acknowledged before the kill");
        await using var restarted = await RuntimeProcess.StartAsync(data, port);
        using var client = restarted.CreateClient();
        var list = await Json.ReadAsync(await client.GetAsync("/api/v1/namespaces/default/configmaps", Ct));
        var stored = list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToHashSet();
        var lost = acknowledged.Where(n => !stored.Contains(n)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {acknowledged.Count} acknowledged writes are missing after SIGKILL, e.g. {string.Join(", ", lost.Take(5))}");
    }
}
