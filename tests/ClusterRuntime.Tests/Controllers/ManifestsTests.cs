// The auto-deploy manifests directory against a real server process: apply, edit, prune, broken files, .skip, restarts.
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class ManifestsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    string Dir
    {
        get
        {
            var dir = Path.Combine(fx.Server.DataDir, "manifests");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>Writes a file whole (temp + rename), as a provisioning tool would.</summary>
    static void Write(string path, string text)
    {
        File.WriteAllText(path + ".tmp-write", text);
        File.Move(path + ".tmp-write", path, overwrite: true);
    }

    /// <summary>The object at <paramref name="path"/>, or null on 404.</summary>
    static async Task<JsonObject?> GetAsync(HttpClient http, string path)
    {
        var r = await http.GetAsync(path, Ct);
        if (r.StatusCode == HttpStatusCode.NotFound) return null;
        Assert.True(r.IsSuccessStatusCode, $"GET {path}: {r.StatusCode}");
        return await Json.ReadAsync(r);
    }

    /// <summary>Polls until <paramref name="done"/> holds for the object at <paramref name="path"/> (null = absent).</summary>
    static Task<JsonObject?> WaitAsync(HttpClient http, string path, Func<JsonObject?, bool> done, TimeSpan timeout, string what) =>
        Poll.UntilAsync(() => GetAsync(http, path), done, timeout, what, last => $"{path}: {last?.ToJsonString() ?? "absent"}");

    static string? Data(JsonObject? cm, string key) => cm?["data"]?[key]?.GetValue<string>();

    [Fact]
    public async Task DroppedFile_AppliedWithin5s_EditApplies_DroppedObjectDeleted_OtherWritersFieldsKept()
    {
        using var http = fx.Server.CreateClient();
        Write(Path.Combine(Dir, "app.yaml"), """
            # two documents and a namespace that the file also creates
            apiVersion: v1
            kind: Namespace
            metadata:
              name: manifests-app
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: manifests-app
              labels: {tier: edge}
            data:
              color: blue
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: extra
              namespace: manifests-app
            data:
              keep: "no"
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: in-default
            data:
              answer: "42"
            """);
        var settings = await WaitAsync(http, "/api/v1/namespaces/manifests-app/configmaps/settings", o => Data(o, "color") == "blue", TimeSpan.FromSeconds(5), "the dropped manifest's ConfigMap");
        Assert.Equal("app.yaml", settings!["metadata"]!["annotations"]!["manifests.appliance.dev/file"]!.GetValue<string>());
        Assert.NotNull(await WaitAsync(http, "/api/v1/namespaces/manifests-app/configmaps/extra", o => o is not null, TimeSpan.FromSeconds(5), "the second ConfigMap"));
        Assert.Equal("42", Data(await WaitAsync(http, "/api/v1/namespaces/default/configmaps/in-default", o => o is not null, TimeSpan.FromSeconds(5), "the namespace-less ConfigMap in default"), "answer"));

        // Another writer adds a label; the next apply must keep it (the file never set it).
        (await fx.Kubectl.RunAsync("-n", "manifests-app", "label", "cm", "settings", "owner=ops")).Ok();

        Write(Path.Combine(Dir, "app.yaml"), """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: manifests-app
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: manifests-app
            data:
              color: green
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: in-default
            data:
              answer: "42"
            """);
        settings = await WaitAsync(http, "/api/v1/namespaces/manifests-app/configmaps/settings", o => Data(o, "color") == "green", TimeSpan.FromSeconds(10), "the edit");
        Assert.Equal("ops", settings!["metadata"]!["labels"]!["owner"]?.GetValue<string>());
        Assert.Null(settings["metadata"]!["labels"]!["tier"]); // the file dropped it
        await WaitAsync(http, "/api/v1/namespaces/manifests-app/configmaps/extra", o => o is null, TimeSpan.FromSeconds(10), "deletion of the object removed from the file");

        // The controller's events are about the tracker ConfigMap, and kubectl describe shows them.
        var describe = await RetryAsync(async () => (await fx.Kubectl.RunAsync("-n", "kube-system", "describe", "configmap", "manifest-app")).Ok().Out,
            o => o.Contains("AppliedManifest"), "AppliedManifest in kubectl describe of the tracker");
        Assert.Contains("deploy", describe);
        Assert.Matches(@"Normal\s+AppliedManifest\s+.*Applied manifest at "".*app\.yaml""", describe);
    }

    static Task<string> RetryAsync(Func<Task<string>> run, Func<string, bool> done, string what) =>
        Poll.UntilAsync(run, done, TimeSpan.FromSeconds(10), what, last => "\n" + last, TimeSpan.FromMilliseconds(200));

    [Fact]
    public async Task BrokenFiles_GiveWarningEvents_NamingFileAndProblem_OthersStillApply()
    {
        using var http = fx.Server.CreateClient();
        Write(Path.Combine(Dir, "broken-syntax.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never\n data: [unclosed\n");
        Write(Path.Combine(Dir, "broken-kind.yml"), "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n");
        Write(Path.Combine(Dir, "broken-invalid.json"), """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}""");
        Write(Path.Combine(Dir, "healthy.json"), """{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"healthy","namespace":"default"},"data":{"ok":"yes"}}]}""");
        await WaitAsync(http, "/api/v1/namespaces/default/configmaps/healthy", o => Data(o, "ok") == "yes", TimeSpan.FromSeconds(5), "the healthy file's ConfigMap");

        var events = await RetryAsync(async () => (await fx.Kubectl.RunAsync("get", "events", "-n", "kube-system")).Ok().Out,
            o => o.Contains("broken-syntax.yaml") && o.Contains("broken-kind.yml") && o.Contains("broken-invalid.json"), "events for the three broken files");
        Assert.Matches(@"Warning\s+ParseManifestFailed\s+configmap/manifest-broken-syntax\s+Parse manifest at "".*broken-syntax\.yaml"" failed: line \d+:\d+: YAML syntax error", events);
        Assert.Matches(@"Warning\s+ParseManifestFailed\s+configmap/manifest-broken-kind\s+.*no matches for kind ""Widget"" in version ""example.com/v1""", events);
        Assert.Matches(@"Warning\s+ApplyManifestFailed\s+configmap/manifest-broken-invalid\s+.*ConfigMap default/Not_Valid: .*Not_Valid", events);
        Assert.Contains("broken-syntax.yaml", fx.Server.Log);
    }

    [Fact]
    public async Task SkipFile_DisablesItsManifest()
    {
        using var http = fx.Server.CreateClient();
        Write(Path.Combine(Dir, "disabled.yaml.skip"), "");
        Write(Path.Combine(Dir, "disabled.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: disabled\ndata: {a: b}\n");
        Write(Path.Combine(Dir, "zz-sentinel.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sentinel\n");
        // Files are applied in path order, so once the sentinel is there the skipped file had its turn.
        await WaitAsync(http, "/api/v1/namespaces/default/configmaps/sentinel", o => o is not null, TimeSpan.FromSeconds(5), "the sentinel");
        Assert.Null(await GetAsync(http, "/api/v1/namespaces/default/configmaps/disabled"));
        Assert.Null(await GetAsync(http, "/api/v1/namespaces/kube-system/configmaps/manifest-disabled"));

        File.Delete(Path.Combine(Dir, "disabled.yaml.skip"));
        await WaitAsync(http, "/api/v1/namespaces/default/configmaps/disabled", o => Data(o, "a") == "b", TimeSpan.FromSeconds(20), "the file once its .skip is removed");
    }

    [Fact]
    public async Task FilePresentBeforeStart_IsApplied_AndNotReappliedAfterRestart()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(Path.Combine(data, "manifests", "sub"));
        Write(Path.Combine(data, "manifests", "sub", "early.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: early\ndata: {v: \"1\"}\n");

        string rv;
        await using (var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort()))
        {
            using var http = server.CreateClient();
            var early = await WaitAsync(http, "/api/v1/namespaces/default/configmaps/early", o => Data(o, "v") == "1", TimeSpan.FromSeconds(5), "the file present before start");
            rv = early!["metadata"]!["resourceVersion"]!.GetValue<string>();
            await WaitAsync(http, "/api/v1/namespaces/kube-system/configmaps/manifest-sub-early", o => o?["data"]?["checksum"] is not null, TimeSpan.FromSeconds(5), "the tracker's checksum");
            Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(10)));
        }

        // A file added while the server is down sorts after the unchanged one: once it is applied, the unchanged one had its turn.
        Write(Path.Combine(data, "manifests", "sub", "late.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n");
        await using (var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort()))
        {
            using var http = server.CreateClient();
            await WaitAsync(http, "/api/v1/namespaces/default/configmaps/late", o => o is not null, TimeSpan.FromSeconds(5), "the file added while down");
            var early = await GetAsync(http, "/api/v1/namespaces/default/configmaps/early");
            Assert.Equal(rv, early!["metadata"]!["resourceVersion"]!.GetValue<string>());
            await server.StopAsync(TimeSpan.FromSeconds(10));
        }
    }
}
