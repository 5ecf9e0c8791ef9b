// Graceful pod deletion against a real server: which pods wait for their kubelet, shorten-only, force, PodGC.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Controllers;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class GracefulDeletionTests(ShortGraceFixture fx) : IClassFixture<ShortGraceFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    async Task<HttpClient> NamespaceAsync(string ns)
    {
        var http = fx.Server.CreateClient();
        var r = await http.PostAsync("/api/v1/namespaces", Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }), Ct);
        Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.StatusCode.ToString());
        return http;
    }

    /// <summary>A Node object with no kubelet behind it: nothing finishes its pods' deletion.</summary>
    async Task NodeAsync(HttpClient http, string name)
    {
        var r = await http.PostAsync("/api/v1/nodes", Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["name"] = name } }), Ct);
        Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.StatusCode.ToString());
    }

    static JsonObject Pod(string name, string? node, long? grace = null, string? finalizer = null)
    {
        var spec = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "registry.local/app:1" }) };
        if (node is not null) spec["nodeName"] = node;
        if (grace is not null) spec["terminationGracePeriodSeconds"] = grace;
        var meta = new JsonObject { ["name"] = name };
        if (finalizer is not null) meta["finalizers"] = new JsonArray(finalizer);
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = meta, ["spec"] = spec };
    }

    static async Task<JsonObject> CreateAsync(HttpClient http, string ns, JsonObject pod)
    {
        var r = await http.PostAsync($"/api/v1/namespaces/{ns}/pods", Json.Body(pod), Ct);
        var body = await Json.ReadAsync(r);
        Assert.True(r.StatusCode == HttpStatusCode.Created, body.ToJsonString());
        return body;
    }

    static Task<HttpResponseMessage> DeleteAsync(HttpClient http, string path, JsonObject? options = null) =>
        http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, path) { Content = options is null ? null : Json.Body(options) }, Ct);

    static JsonObject Grace(long seconds) => new() { ["kind"] = "DeleteOptions", ["apiVersion"] = "v1", ["gracePeriodSeconds"] = seconds };

    static DateTimeOffset DeletionTimestamp(JsonObject pod) => DateTimeOffset.Parse(pod["metadata"]!["deletionTimestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    static long? DeletionGrace(JsonObject pod) => pod["metadata"]?["deletionGracePeriodSeconds"]?.GetValue<long>();

    [Fact]
    public async Task BoundPod_WaitsForItsKubelet_GraceFromSpecThenOptions_OnlyShorter_ForceDeletes()
    {
        const string ns = "graceful-bound";
        using var http = await NamespaceAsync(ns);
        await NodeAsync(http, "graceful-silent");
        await CreateAsync(http, ns, Pod("p", "graceful-silent", grace: 45));
        var path = $"/api/v1/namespaces/{ns}/pods/p";

        // The first delete answers 200 with the pod, now carrying deletionTimestamp = now + 45 s, and keeps it.
        var before = DateTimeOffset.UtcNow;
        var r = await DeleteAsync(http, path);
        var marked = await Json.ReadAsync(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("Pod", marked["kind"]!.GetValue<string>());
        Assert.Equal(45, DeletionGrace(marked));
        var at = DeletionTimestamp(marked);
        Assert.InRange(at, before.AddSeconds(44), DateTimeOffset.UtcNow.AddSeconds(46));
        var stored = await Json.ReadAsync(await http.GetAsync(path, Ct));
        Assert.Equal(45, DeletionGrace(stored));
        var table = (await fx.Kubectl.RunAsync("-n", ns, "get", "pod", "p")).Ok().Out;
        Assert.Matches(@"(?m)^p\s+\S+\s+Terminating\s", table);

        // A status write (the kubelet reporting on the stopping pod) does not end the grace period.
        var status = await http.PatchAsync(path + "/status", new StringContent("""{"status":{"phase":"Running"}}""", System.Text.Encoding.UTF8, "application/merge-patch+json"), Ct);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(path, Ct)).StatusCode);

        // A longer grace period, or none, changes nothing (200 and the pod as it is).
        foreach (var longer in new[] { (JsonObject?)Grace(100), null })
        {
            var again = await DeleteAsync(http, path, longer);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            var same = await Json.ReadAsync(again);
            Assert.Equal((45L, at), (DeletionGrace(same)!.Value, DeletionTimestamp(same)));
        }
        var viaQuery = await Json.ReadAsync(await DeleteAsync(http, path + "?gracePeriodSeconds=60"));
        Assert.Equal(45, DeletionGrace(viaQuery));

        // A shorter one moves the deadline back by the difference.
        var shorter = await Json.ReadAsync(await DeleteAsync(http, path, Grace(10)));
        Assert.Equal(10, DeletionGrace(shorter));
        Assert.Equal(at.AddSeconds(-35), DeletionTimestamp(shorter));

        // The kubelet's final delete carries the pod's UID: another UID is a 409, and the pod stays.
        var wrongUid = Grace(0);
        wrongUid["preconditions"] = new JsonObject { ["uid"] = "00000000-0000-0000-0000-000000000000" };
        var conflict = await DeleteAsync(http, path, wrongUid);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("Precondition failed: UID in precondition", (await Json.ReadAsync(conflict))["message"]!.GetValue<string>());

        // kubectl delete --grace-period=0 --force removes it at once, with upstream's warning.
        var force = (await fx.Kubectl.RunAsync("-n", ns, "delete", "pod", "p", "--grace-period=0", "--force")).Ok();
        Assert.Contains("pod \"p\" force deleted", force.Out);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path, Ct)).StatusCode);
    }

    [Fact]
    public async Task UnboundFinishedOrZeroGracePods_GoAtOnce_AndOptionsGraceBeatsTheSpec()
    {
        const string ns = "graceful-now";
        using var http = await NamespaceAsync(ns);
        await NodeAsync(http, "graceful-silent");

        // Not scheduled: no kubelet runs it, so it goes at once (200 with the pod as it was).
        await CreateAsync(http, ns, Pod("unbound", null));
        var r = await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/unbound");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Null((await Json.ReadAsync(r))["metadata"]!["deletionTimestamp"]);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/namespaces/{ns}/pods/unbound", Ct)).StatusCode);

        // Succeeded or Failed: its containers are stopped already.
        foreach (var phase in new[] { "Succeeded", "Failed" })
        {
            var name = "done-" + phase.ToLowerInvariant();
            await CreateAsync(http, ns, Pod(name, "graceful-silent"));
            var patched = await http.PatchAsync($"/api/v1/namespaces/{ns}/pods/{name}/status",
                new StringContent(new JsonObject { ["status"] = new JsonObject { ["phase"] = phase } }.ToJsonString(), System.Text.Encoding.UTF8, "application/merge-patch+json"), Ct);
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/{name}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/namespaces/{ns}/pods/{name}", Ct)).StatusCode);
        }

        // gracePeriodSeconds 0 in the query removes a running pod at once.
        await CreateAsync(http, ns, Pod("zero", "graceful-silent"));
        Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/zero?gracePeriodSeconds=0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/namespaces/{ns}/pods/zero", Ct)).StatusCode);

        // The request's grace period beats the spec's (default 30); a negative one counts as 1 s.
        await CreateAsync(http, ns, Pod("asked", "graceful-silent"));
        Assert.Equal(7, DeletionGrace(await Json.ReadAsync(await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/asked", Grace(7)))));
        await CreateAsync(http, ns, Pod("negative", "graceful-silent"));
        Assert.Equal(1, DeletionGrace(await Json.ReadAsync(await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/negative", Grace(-5)))));
        await CreateAsync(http, ns, Pod("default", "graceful-silent"));
        Assert.Equal(30, DeletionGrace(await Json.ReadAsync(await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/default"))));

        // kubectl delete --wait=false returns at once and prints the usual line; the pod is Terminating.
        await CreateAsync(http, ns, Pod("kubectl", "graceful-silent"));
        Assert.Contains("pod \"kubectl\" deleted", (await fx.Kubectl.RunAsync("-n", ns, "delete", "pod", "kubectl", "--wait=false")).Ok().Out);
        Assert.Equal(30, DeletionGrace(await Json.ReadAsync(await http.GetAsync($"/api/v1/namespaces/{ns}/pods/kubectl", Ct))));
        foreach (var name in new[] { "asked", "negative", "default", "kubectl" })
            await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/{name}", Grace(0));
    }

    [Fact]
    public async Task FinalizerAndGracePeriod_TheKubeletsDeleteLeavesTheFinalizer_WhichThenEndsIt()
    {
        const string ns = "graceful-finalizer";
        using var http = await NamespaceAsync(ns);
        await NodeAsync(http, "graceful-silent");
        await CreateAsync(http, ns, Pod("held", "graceful-silent", finalizer: "example.com/hold"));
        var path = $"/api/v1/namespaces/{ns}/pods/held";
        var marked = await Json.ReadAsync(await DeleteAsync(http, path));
        Assert.Equal(30, DeletionGrace(marked));
        Assert.Equal("example.com/hold", marked["metadata"]!["finalizers"]![0]!.GetValue<string>());

        // The kubelet's grace-0 delete: the finalizer still holds it, with no grace period left.
        var kubelet = Grace(0);
        kubelet["preconditions"] = new JsonObject { ["uid"] = marked["metadata"]!["uid"]!.GetValue<string>() };
        var held = await DeleteAsync(http, path, kubelet);
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal(0, DeletionGrace(await Json.ReadAsync(held)));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(path, Ct)).StatusCode);

        // Removing the finalizer ends it.
        var patch = await http.PatchAsync(path, new StringContent("""[{"op":"remove","path":"/metadata/finalizers"}]""", System.Text.Encoding.UTF8, "application/json-patch+json"), Ct);
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path, Ct)).StatusCode);

        // A graceful pod whose finalizer goes while its grace period still runs stays until its kubelet's delete.
        await CreateAsync(http, ns, Pod("running", "graceful-silent", finalizer: "example.com/hold"));
        var path2 = $"/api/v1/namespaces/{ns}/pods/running";
        await DeleteAsync(http, path2);
        Assert.Equal(HttpStatusCode.OK, (await http.PatchAsync(path2, new StringContent("""[{"op":"remove","path":"/metadata/finalizers"}]""", System.Text.Encoding.UTF8, "application/json-patch+json"), Ct)).StatusCode);
        Assert.Equal(30, DeletionGrace(await Json.ReadAsync(await http.GetAsync(path2, Ct))));
        Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(http, path2, Grace(0))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path2, Ct)).StatusCode);
    }

    [Fact]
    public async Task PodOnANodeThatDoesNotExist_IsFailedAndForceDeletedByPodGc_AfterTheQuarantine()
    {
        const string ns = "graceful-podgc";
        using var http = await NamespaceAsync(ns);
        var created = DateTimeOffset.UtcNow;
        await CreateAsync(http, ns, Pod("orphan", "no-such-node"));
        // Deleting it only marks it: no kubelet will ever finish it, PodGC does (quarantine = the 10 s grace period).
        Assert.Equal(30, DeletionGrace(await Json.ReadAsync(await DeleteAsync(http, $"/api/v1/namespaces/{ns}/pods/orphan"))));
        await CreateAsync(http, ns, Pod("orphan-running", "no-such-node"));
        await Poll.UntilAsync("PodGC removed both pods", async () =>
            (await http.GetAsync($"/api/v1/namespaces/{ns}/pods/orphan", Ct)).StatusCode == HttpStatusCode.NotFound
            && (await http.GetAsync($"/api/v1/namespaces/{ns}/pods/orphan-running", Ct)).StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(60), async () => (await fx.Kubectl.RunAsync("-n", ns, "get", "pods")).Out, Ct);
        Assert.True(DateTimeOffset.UtcNow - created > TimeSpan.FromSeconds(9), "removed before the quarantine");
    }
}
