// Events: counting repeats, core/v1 and events.k8s.io/v1 over one store, kubectl describe/events/get events, and the TTL.
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class EventTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RepeatedEvents_AreCounted_NotDuplicated()
    {
        using var dir = new TempDir();
        await using var backend = new SqliteBackend(new SqliteBackendOptions { DataDir = dir.Path });
        await backend.StartAsync(Ct);
        var store = new ObjectStore(backend, TimeProvider.System);
        await store.CreateAsync(ResourceTable.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } }, Ct);
        var cm = await store.CreateAsync(ResourceTable.Find("", "v1", "configmaps")!, "default", Json.ConfigMap("subject"), Ct);
        var recorder = new EventRecorder(new StoreEventSink(store), store.Clock, "test-instance", NullLogger.Instance);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = recorder.RunAsync(cts.Token);
        for (int i = 0; i < 3; i++) recorder.Record(cm, EventRecorder.Warning, "Repeated", "the same thing again", "test-controller");
        recorder.Record(cm, EventRecorder.Normal, "Other", "something else", "test-controller");

        var events = ResourceTable.Find("", "v1", "events")!;
        var all = new ListOptions(LabelSelector.Everything, FieldSelector.Everything, 0, null, null, null);
        var watch = Stopwatch.StartNew();
        List<JsonObject> items = [];
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            items = (await store.ListAsync(events, "default", all, Ct)).Items;
            if (items.Count == 2 && items.Any(e => e["count"]?.GetValue<int>() == 3)) break;
            await Task.Delay(50, Ct);
        }
        await cts.CancelAsync();
        await running;
        Assert.True(items.Count == 2, $"expected 2 events, got {items.Count}: {string.Join("\n", items.Select(e => e.ToJsonString()))}");
        var repeated = Assert.Single(items, e => e["reason"]!.GetValue<string>() == "Repeated");
        Assert.Equal(3, repeated["count"]!.GetValue<int>());
        Assert.Equal("test-controller", repeated["source"]!["component"]!.GetValue<string>());
        Assert.Equal(Meta.Str(cm, "uid"), repeated["involvedObject"]!["uid"]!.GetValue<string>());
        Assert.Equal(1, Assert.Single(items, e => e["reason"]!.GetValue<string>() == "Other")["count"]!.GetValue<int>());
        // Written with the TTL lease: the datastore expires it.
        var (_, kv) = await backend.GetAsync(events.Key("default", Meta.Name(repeated)!), 0, Ct);
        Assert.Equal(3600, kv!.Lease);
    }

    [Fact]
    public async Task RepeatedEvents_WrittenOverTheApi_AreCounted_NotDuplicated()
    {
        // The kubelet's way: the same recorder, writing through the API with an ApiEventSink.
        var (http, cm) = await SubjectAsync("events-api");
        var api = new Appliance.ClusterRuntime.Agent.Client.ApiClient(http);
        var recorder = new EventRecorder(new Appliance.ClusterRuntime.Agent.Client.ApiEventSink(api), TimeProvider.System, "node-1", NullLogger.Instance);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = recorder.RunAsync(cts.Token);
        for (int i = 0; i < 3; i++) recorder.Record(cm, EventRecorder.Warning, "BackOff", "back-off restarting", "kubelet");
        recorder.Record(cm, EventRecorder.Normal, "Pulled", "already present", "kubelet");

        var watch = Stopwatch.StartNew();
        JsonArray items = [];
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            items = (await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/events-api/events", Ct)))["items"]!.AsArray();
            if (items.Count == 2 && items.Any(e => e!["count"]?.GetValue<int>() == 3)) break;
            await Task.Delay(50, Ct);
        }
        await cts.CancelAsync();
        await running;
        Assert.True(items.Count == 2, $"expected 2 events, got {items.Count}: {items.ToJsonString()}");
        var backOff = Assert.Single(items, e => e!["reason"]!.GetValue<string>() == "BackOff")!;
        Assert.Equal(3, backOff["count"]!.GetValue<int>());
        Assert.Equal("node-1", backOff["reportingInstance"]!.GetValue<string>());
        Assert.Equal(1, Assert.Single(items, e => e!["reason"]!.GetValue<string>() == "Pulled")!["count"]!.GetValue<int>());
    }

    static JsonObject CoreEvent(string name, JsonObject involved, int count) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Event",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["involvedObject"] = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = Meta.Name(involved), ["namespace"] = Meta.Namespace(involved), ["uid"] = Meta.Str(involved, "uid"),
        },
        ["reason"] = "Overheated",
        ["message"] = "too hot",
        ["type"] = "Warning",
        ["source"] = new JsonObject { ["component"] = "tester" },
        ["firstTimestamp"] = Meta.Time(DateTimeOffset.UtcNow.AddMinutes(-3)),
        ["lastTimestamp"] = Meta.Time(DateTimeOffset.UtcNow),
        ["count"] = count,
    };

    async Task<(HttpClient Http, JsonObject ConfigMap)> SubjectAsync(string ns)
    {
        var http = await fx.NamespaceClientAsync(ns, Ct);
        var r = await http.PostAsync($"/api/v1/namespaces/{ns}/configmaps", Json.Body(Json.ConfigMap("subject")), Ct);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return (http, await Json.ReadAsync(r));
    }

    [Fact]
    public async Task BothApis_ShowTheSameEvents_ConvertedBothWays()
    {
        var (http, cm) = await SubjectAsync("ev-both");
        using var _ = http;
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/ev-both/events", Json.Body(CoreEvent("old-api", cm, 2)), Ct)).StatusCode);
        var fresh = new JsonObject
        {
            ["apiVersion"] = "events.k8s.io/v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = "new-api" },
            ["eventTime"] = "2026-01-02T03:04:05.000000Z",
            ["reportingController"] = "example.com/tester",
            ["reportingInstance"] = "tester-1",
            ["action"] = "Cooling",
            ["reason"] = "Cooled",
            ["regarding"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "subject", ["namespace"] = "ev-both", ["uid"] = Meta.Str(cm, "uid") },
            ["note"] = "back to normal",
            ["type"] = "Normal",
        };
        var created = await http.PostAsync("/apis/events.k8s.io/v1/namespaces/ev-both/events", Json.Body(fresh), Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("back to normal", (await Json.ReadAsync(created))["note"]!.GetValue<string>());

        var asNew = await Json.ReadAsync(await http.GetAsync("/apis/events.k8s.io/v1/namespaces/ev-both/events", Ct));
        Assert.Equal("EventList", asNew["kind"]!.GetValue<string>());
        Assert.Equal("events.k8s.io/v1", asNew["apiVersion"]!.GetValue<string>());
        var old = Assert.Single(asNew["items"]!.AsArray(), e => e!["metadata"]!["name"]!.GetValue<string>() == "old-api")!;
        Assert.Equal("events.k8s.io/v1", old["apiVersion"]!.GetValue<string>());
        Assert.Equal("too hot", old["note"]!.GetValue<string>());
        Assert.Equal("subject", old["regarding"]!["name"]!.GetValue<string>());
        Assert.Equal(2, old["deprecatedCount"]!.GetValue<int>());
        Assert.Equal("tester", old["deprecatedSource"]!["component"]!.GetValue<string>());
        Assert.Null(old["message"]);

        var asOld = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/ev-both/events/new-api", Ct));
        Assert.Equal("v1", asOld["apiVersion"]!.GetValue<string>());
        Assert.Equal("back to normal", asOld["message"]!.GetValue<string>());
        Assert.Equal("subject", asOld["involvedObject"]!["name"]!.GetValue<string>());
        Assert.Equal("example.com/tester", asOld["reportingComponent"]!.GetValue<string>());
        Assert.Equal("Cooling", asOld["action"]!.GetValue<string>());
        Assert.Null(asOld["note"]);

        // Field selectors: each API's own names (kubectl describe's involvedObject.*, and source) and the events.k8s.io ones.
        var uid = Meta.Str(cm, "uid");
        var coreSelected = await Json.ReadAsync(await http.GetAsync($"/api/v1/namespaces/ev-both/events?fieldSelector=involvedObject.name%3Dsubject,involvedObject.namespace%3Dev-both,involvedObject.kind%3DConfigMap,involvedObject.uid%3D{uid},source%3Dtester", Ct));
        Assert.Equal(["old-api"], coreSelected["items"]!.AsArray().Select(e => e!["metadata"]!["name"]!.GetValue<string>()));
        var newSelected = await Json.ReadAsync(await http.GetAsync("/apis/events.k8s.io/v1/namespaces/ev-both/events?fieldSelector=regarding.name%3Dsubject,reportingController%3Dexample.com/tester", Ct));
        Assert.Equal(["new-api"], newSelected["items"]!.AsArray().Select(e => e!["metadata"]!["name"]!.GetValue<string>()));

        // An update through the new API lands in the stored core Event.
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/apis/events.k8s.io/v1/namespaces/ev-both/events/new-api")
        {
            Content = Json.Body(new JsonObject { ["note"] = "patched" }, "application/merge-patch+json"),
        };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(patch, Ct)).StatusCode);
        Assert.Equal("patched", (await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/ev-both/events/new-api", Ct)))["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kubectl_DescribeGetEventsAndEvents_ShowTheEvents()
    {
        Support.Kubectl.RequireInstalled();
        var (http, cm) = await SubjectAsync("ev-kubectl");
        using var _ = http;
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/ev-kubectl/events", Json.Body(CoreEvent("subject.1", cm, 3)), Ct)).StatusCode);

        var describe = (await fx.Kubectl.RunAsync("-n", "ev-kubectl", "describe", "configmap", "subject")).Ok().Out;
        Assert.Matches(@"Events:\s+Type\s+Reason\s+Age\s+From\s+Message", describe);
        Assert.Matches(@"Warning\s+Overheated\s+\S+ \(x3 over \S+\)\s+tester\s+too hot", describe);

        var get = (await fx.Kubectl.RunAsync("-n", "ev-kubectl", "get", "events")).Ok().Out;
        Assert.Matches(@"^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n", get);
        Assert.Matches(@"\n\d+s\s+Warning\s+Overheated\s+configmap/subject\s+too hot", get);
        var wide = (await fx.Kubectl.RunAsync("-n", "ev-kubectl", "get", "events", "-o", "wide")).Ok().Out;
        Assert.Matches(@"^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME\n", wide);
        Assert.Matches(@"Overheated\s+configmap/subject\s+tester\s+too hot\s+3m\d*s?\s+3\s+subject\.1", wide);
        var viaNewApi = (await fx.Kubectl.RunAsync("-n", "ev-kubectl", "get", "events.v1.events.k8s.io")).Ok().Out;
        Assert.Matches(@"Warning\s+Overheated\s+configmap/subject\s+too hot", viaNewApi);

        var events = (await fx.Kubectl.RunAsync("-n", "ev-kubectl", "events", "--for", "configmap/subject")).Ok().Out;
        Assert.Matches(@"^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n", events);
        Assert.Matches(@"(?i)Warning\s+Overheated\s+configmap/subject\s+too hot", events);
        var warnings = (await fx.Kubectl.RunAsync("-n", "ev-kubectl", "events", "--types", "Normal")).Ok();
        Assert.DoesNotContain("Overheated", warnings.Out);
    }

    [Fact]
    public async Task Events_ExpireAfterEventTtl_AndUpdatesRenewIt()
    {
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort(), "--event-ttl", "3s");
        using var http = server.CreateClient();
        var cm = await Json.ReadAsync(await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("subject")), Ct));
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/events", Json.Body(CoreEvent("short-lived", cm, 1)), Ct)).StatusCode);
        var watch = Stopwatch.StartNew();
        // Renewed by updates: while it is updated every second it stays, past its first 3 s.
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/events/short-lived")
            {
                Content = Json.Body(new JsonObject { ["count"] = (int)watch.Elapsed.TotalSeconds + 2 }, "application/merge-patch+json"),
            };
            var r = await http.SendAsync(patch, Ct);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"the event was gone {watch.Elapsed.TotalSeconds:F1} s after creation although updated every second: {r.StatusCode}");
            await Task.Delay(1000, Ct);
        }
        await Poll.UntilAsync(async () => (await http.GetAsync("/api/v1/namespaces/default/events/short-lived", Ct)).StatusCode,
            code => code == HttpStatusCode.NotFound, TimeSpan.FromSeconds(15),
            "the event to go after its last update with --event-ttl 3s", interval: TimeSpan.FromMilliseconds(200));
    }
}
