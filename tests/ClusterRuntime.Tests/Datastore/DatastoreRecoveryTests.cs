// A damaged or emptied SQLite datastore is refused at start with one line; snapshots restore it.
using System.Net;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Datastore;

[Trait("Category", "External")]
public sealed partial class DatastoreRecoveryTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(25);
    const string ServerPrefix = "appliance-runtime server:";

    /// <summary>Starts a server on <paramref name="data"/>, stores <paramref name="count"/> ConfigMaps of about 2 KB and a Secret, stops it cleanly.</summary>
    static async Task<HashSet<string>> PopulateAsync(string data, int count, params string[] extra)
    {
        await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort(), extra);
        using var http = server.CreateClient();
        var names = Enumerable.Range(0, count).Select(i => $"cm-{i:D4}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (name, ct) =>
        {
            var r = await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap(name, null, ("blob", new string('x', 2000) + name))), ct);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        });
        var secret = new System.Text.Json.Nodes.JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret",
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "keep-me" },
            ["stringData"] = new System.Text.Json.Nodes.JsonObject { ["password"] = "s3cret" },
        };
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/secrets", Json.Body(secret), Ct)).StatusCode);
        Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(15)));
        return [.. names];
    }

    static Task<CliResult> StartExpectingExitAsync(string data, params string[] extra) =>
        RuntimeCli.RunAsync(StartTimeout, ["server", "--data-dir", data, "--https-listen-port", RuntimeProcess.FreePort().ToString(),
            "--bind-address", "127.0.0.1", "--disable-agent", .. extra]);

    static string Db(string data) => Path.Combine(data, "db", "state.db");

    /// <summary>The refusal: exit 1 and exactly one line, naming the file and both ways out.</summary>
    static string AssertRefused(CliResult r, string data, string problem)
    {
        Assert.True(r.Code != -1, $"the server started on a {problem} database:\n{r.Stderr}");
        Assert.Equal(1, r.Code);
        var lines = r.Lines(ServerPrefix);
        Assert.True(lines.Count == 1, $"expected one line, got:\n{r.Stderr}");
        Assert.DoesNotContain("   at ", r.Stderr);
        var line = lines[0];
        Assert.Contains(Db(data), line);
        Assert.Contains(problem, line);
        Assert.Contains("--reset-datastore", line);
        return line;
    }

    static async Task<HashSet<string>> ConfigMapNamesAsync(RuntimeProcess server)
    {
        using var http = server.CreateClient();
        var r = await http.GetAsync("/api/v1/namespaces/default/configmaps", Ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var list = await Json.ReadAsync(r);
        // kube-root-ca.crt is the server's own, published in every namespace (Controllers/ServiceAccounts).
        return list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).Where(n => n != "kube-root-ca.crt").ToHashSet();
    }

    static void WriteGarbage(string path, long offset, int length)
    {
        var garbage = new byte[length];
        new Random(12).NextBytes(garbage);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(garbage);
    }

    [GeneratedRegex(@"'(appliance-runtime datastore restore [^']+)'")]
    private static partial Regex RestoreCommand();

    [Fact]
    public async Task GarbageInTheMiddle_IsRefused_AndTheNamedCommandRestoresTheSnapshot()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var names = await PopulateAsync(data, 300);
        var snap = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "snapshot", "--data-dir", data);
        Assert.True(snap.Code == 0, snap.Stderr);
        var db = Db(data);
        Assert.False(File.Exists(db + "-wal") && new FileInfo(db + "-wal").Length > 0, "a clean stop checkpoints the WAL");
        var size = new FileInfo(db).Length;
        Assert.True(size > 400_000, $"state.db is only {size} bytes");
        // Four pages of garbage in the middle of the file.
        WriteGarbage(db, size / 2 / 4096 * 4096, 4 * 4096);

        var refused = await StartExpectingExitAsync(data);
        var line = AssertRefused(refused, data, "damaged");
        var m = RestoreCommand().Match(line);
        Assert.True(m.Success, $"no restore command in: {line}");

        // Run exactly the command the message names.
        var args = m.Groups[1].Value.Split(' ')[1..];
        var restored = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), args);
        Assert.True(restored.Code == 0, $"restore failed ({restored.Code}):\n{restored.Stderr}");

        await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort());
        Assert.Equal(names.Order(), (await ConfigMapNamesAsync(server)).Order());
        using var http = server.CreateClient();
        var secret = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/default/secrets/keep-me", Ct));
        Assert.Equal(Convert.ToBase64String("s3cret"u8), secret["data"]!["password"]!.GetValue<string>());
        // The damaged file was kept aside, not deleted.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(data, "db"), "state.db.pre-restore-*"));
    }

    [Fact]
    public async Task TruncatedToZeroBytes_IsRefused_NotStartedEmpty()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        await PopulateAsync(data, 20);
        File.WriteAllBytes(Db(data), []);
        AssertRefused(await StartExpectingExitAsync(data), data, "empty");
    }

    [Fact]
    public async Task DeletedDatabase_IsRefused()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        await PopulateAsync(data, 5);
        foreach (var f in Directory.GetFiles(Path.Combine(data, "db"), "state.db*")) File.Delete(f);
        AssertRefused(await StartExpectingExitAsync(data), data, "missing");
    }

    [Fact]
    public async Task GarbageHeader_IsRefused_WithTheFileNamed()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        await PopulateAsync(data, 20);
        WriteGarbage(Db(data), 0, 100);
        AssertRefused(await StartExpectingExitAsync(data), data, "not a SQLite database");
    }

    [Fact]
    public async Task ResetDatastore_MovesTheDamagedFileAside_AndStartsEmpty()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        await PopulateAsync(data, 10);
        WriteGarbage(Db(data), 0, 100);
        await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort(), "--reset-datastore");
        Assert.Empty(await ConfigMapNamesAsync(server));
        Assert.Single(Directory.GetFiles(Path.Combine(data, "db"), "state.db.reset-*"));
        Assert.Contains("--reset-datastore", server.Log);
    }

    [Fact]
    public async Task SnapshotCommand_WhileServing_RestoreRefusedWhileServing_RoundTripAfterStop()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        HashSet<string> before;
        long oldRevision;
        await using (var server = await RuntimeProcess.StartAsync(data, port, "--snapshot-interval", "0"))
        {
            using var http = server.CreateClient();
            for (var i = 0; i < 30; i++)
                Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap($"a-{i}")), Ct)).StatusCode);
            before = await ConfigMapNamesAsync(server);

            var snap = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "snapshot", "--data-dir", data);
            Assert.True(snap.Code == 0, snap.Stderr);
            var path = snap.Stdout.Trim();
            Assert.StartsWith(Path.Combine(data, "db", "snapshots") + "/", path);
            Assert.True(File.Exists(path));

            // Written after the snapshot: gone after the restore.
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("after-snapshot")), Ct)).StatusCode);

            oldRevision = long.Parse((await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/default/configmaps", Ct)))["metadata"]!["resourceVersion"]!.GetValue<string>());
            var busy = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "restore", "--data-dir", data);
            Assert.Equal(1, busy.Code);
            var line = Assert.Single(busy.Lines("appliance-runtime datastore:"));
            Assert.Contains("in use", line);
            Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(15)));
        }
        var ls = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "ls", "--data-dir", data);
        Assert.Equal(0, ls.Code);
        Assert.Matches(@"^NAME\s+SIZE\s+REVISION\s+KEYS\s+TAKEN\n", ls.Stdout);
        Assert.Single(ls.Stdout.Trim().Split('\n').Skip(1));

        var restore = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "restore", "--data-dir", data);
        Assert.True(restore.Code == 0, restore.Stderr);
        await using var again = await RuntimeProcess.StartAsync(data, port);
        var after = await ConfigMapNamesAsync(again);
        Assert.Equal(before.Order(), after.Order());
        // Revisions continue past the replaced timeline's (which is marked compacted), so clients relist.
        using var client = again.CreateClient();
        var list = await Json.ReadAsync(await client.GetAsync("/api/v1/namespaces/default/configmaps", Ct));
        Assert.True(long.Parse(list["metadata"]!["resourceVersion"]!.GetValue<string>()) > oldRevision);
        var stale = await client.GetAsync($"/api/v1/namespaces/default/configmaps?resourceVersion={oldRevision - 5}&resourceVersionMatch=Exact", Ct);
        Assert.Equal(HttpStatusCode.Gone, stale.StatusCode);
    }

    [Fact]
    public async Task AutomaticSnapshots_AtStartAndOnSchedule_RetainedByCount()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var snapshots = Path.Combine(data, "db", "snapshots");
        await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort(), "--snapshot-interval", "1s", "--snapshot-retention", "2");
        // One at start (after the check), then one a second, of which two are kept.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string[] seen = [];
        var distinct = new HashSet<string>();
        while (DateTime.UtcNow < deadline && distinct.Count < 4)
        {
            seen = Directory.Exists(snapshots) ? Directory.GetFiles(snapshots) : [];
            distinct.UnionWith(seen.Where(f => f.EndsWith(".db", StringComparison.Ordinal)));
            await Task.Delay(200, Ct);
        }
        Assert.True(distinct.Count >= 4, $"only {distinct.Count} snapshots were taken in 20 s:\n{server.Log}");
        await Task.Delay(300, Ct);
        var kept = Directory.GetFiles(snapshots);
        Assert.True(kept.Length <= 2, $"retention 2 but {kept.Length} files: {string.Join(", ", kept)}");
        Assert.All(kept, f => Assert.Matches(@"/state-\d{8}T\d{6}\.\d{3}Z\.db$", f));
    }

    [Fact]
    public async Task BadSnapshotOptions_Exit2_OneLine()
    {
        using var dir = new TempDir();
        var server = await StartExpectingExitAsync(dir.Path, "--snapshot-retention", "0");
        Assert.Equal(2, server.Code);
        Assert.Equal("appliance-runtime server: --snapshot-retention: 0 must be at least 1", Assert.Single(server.Lines(ServerPrefix)));
        var interval = await StartExpectingExitAsync(dir.Path, "--snapshot-interval", "often");
        Assert.Equal(2, interval.Code);
        Assert.Contains("\"often\" is not a duration", interval.Stderr);
        var none = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "restore", "--data-dir", dir.Path);
        Assert.Equal(2, none.Code);
        Assert.Contains("no snapshot in", Assert.Single(none.Lines("appliance-runtime datastore:")));
    }

    [Fact]
    public async Task PostgresEndpoint_SnapshotCommandsRefuse_PointingToPgDump()
    {
        using var dir = new TempDir();
        foreach (var verb in new[] { "snapshot", "restore", "ls" })
        {
            var r = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", verb, "--data-dir", dir.Path, "--datastore-endpoint", "postgres://u:p@127.0.0.1:1/db");
            Assert.Equal(2, r.Code);
            var line = Assert.Single(r.Lines("appliance-runtime datastore:"));
            Assert.Contains("pg_dump", line);
        }
    }
}
