// The garbage collector and delete propagation, driven by the real kubectl against a real server.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class GarbageCollectorTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    GcCluster Cluster() => new(fx.Kubectl, fx.Server.CreateClient());

    static JsonObject Cm(string ns, string name, params JsonObject[] owners) => GcCluster.ConfigMap(ns, name, owners);

    [Fact]
    public async Task BackgroundDelete_RemovesDependentsAndGrandchildren_KeepsOneWithAnotherLiveOwner_WithoutTheDeletedRef()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-background");
        var owners = await c.CreateAllAsync(Cm(ns, "parent"), Cm(ns, "other"));
        var (parent, other) = (owners[0], owners[1]);
        var child = (await c.CreateAllAsync(Cm(ns, "child", GcCluster.Ref(parent)), Cm(ns, "shared", GcCluster.Ref(parent), GcCluster.Ref(other))))[0];
        await c.CreateAsync(Cm(ns, "grandchild", GcCluster.Ref(child)));

        var deleted = (await c.Kubectl.RunAsync("delete", "configmap", "parent", "-n", ns, "--cascade=background")).Ok();
        Assert.Contains("deleted", deleted.Out);
        Assert.Null(await c.ConfigMapAsync(ns, "parent"));
        await c.WaitGoneAsync(ns, "child", "grandchild");
        await GcCluster.WaitAsync(async () => (await c.ConfigMapAsync(ns, "shared"))?["metadata"]?["ownerReferences"]?.AsArray().Count == 1,
            "shared to keep only its reference to other", () => c.DescribeAsync(ns));
        var shared = (await c.ConfigMapAsync(ns, "shared"))!;
        Assert.Equal(other["metadata"]!["uid"]!.GetValue<string>(), shared["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
    }

    [Fact]
    public async Task OwnerReference_WhoseUidDoesNotMatchTheObjectOfThatName_IsDangling()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-uid");
        var owner = await c.CreateAsync(Cm(ns, "owner"));
        var stale = GcCluster.Ref(owner);
        stale["uid"] = Guid.NewGuid().ToString(); // an earlier "owner", deleted and recreated under the same name
        var unserved = GcCluster.Ref(owner);
        unserved["apiVersion"] = "example.com/v1";
        unserved["kind"] = "Widget";
        await c.CreateAllAsync(Cm(ns, "of-the-old-owner", stale), Cm(ns, "of-the-live-owner", GcCluster.Ref(owner)), Cm(ns, "of-an-unserved-kind", unserved));

        await c.WaitGoneAsync(ns, "of-the-old-owner");
        Assert.NotNull(await c.ConfigMapAsync(ns, "of-the-live-owner"));
        Assert.NotNull(await c.ConfigMapAsync(ns, "of-an-unserved-kind"));
    }

    [Fact]
    public async Task ForegroundDelete_WithKubectl_DeletesDependentsBeforeTheOwner_WhichWaitsMarkedForDeletion()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-foreground");
        var parent = await c.CreateAsync(Cm(ns, "parent"));
        await c.CreateAllAsync([.. Enumerable.Range(1, 3).Select(i => Cm(ns, $"child-{i}", GcCluster.Ref(parent))), Cm(ns, "child-nonblocking", GcCluster.Ref(parent, block: false))]);
        await using var watch = await ConfigMapWatch.StartAsync(c.Http, ns, "parent", "child-1", "child-2", "child-3");

        (await c.Kubectl.RunAsync("delete", "configmap", "parent", "-n", ns, "--cascade=foreground", "--timeout=20s")).Ok();
        Assert.Null(await c.ConfigMapAsync(ns, "parent"));
        await GcCluster.WaitAsync(() => Task.FromResult(watch.IndexOf(e => e is { Type: "DELETED", Name: "parent" }) >= 0),
            "the owner's DELETED event", () => Task.FromResult(watch.ToString()));

        var marked = watch.IndexOf(e => e is { Type: "MODIFIED", Name: "parent", Deleting: true } && e.Finalizers.Contains("foregroundDeletion"));
        var ownerGone = watch.IndexOf(e => e is { Type: "DELETED", Name: "parent" });
        Assert.True(marked >= 0, $"the owner was never seen marked for deletion with foregroundDeletion: {watch}");
        for (int i = 1; i <= 3; i++)
        {
            var childGone = watch.IndexOf(e => e.Type == "DELETED" && e.Name == $"child-{i}");
            Assert.True(marked < childGone && childGone < ownerGone, $"child-{i} was not deleted while the owner waited: {watch}");
        }
        await c.WaitGoneAsync(ns, "child-nonblocking");
    }

    [Fact]
    public async Task OrphanDelete_WithKubectl_LeavesDependentsWithoutTheOwnerReference()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-orphan");
        var owners = await c.CreateAllAsync(Cm(ns, "parent"), Cm(ns, "other"));
        var (parent, other) = (owners[0], owners[1]);
        await c.CreateAllAsync(Cm(ns, "child", GcCluster.Ref(parent)), Cm(ns, "shared", GcCluster.Ref(parent), GcCluster.Ref(other)));

        (await c.Kubectl.RunAsync("delete", "configmap", "parent", "-n", ns, "--cascade=orphan", "--timeout=20s")).Ok();
        Assert.Null(await c.ConfigMapAsync(ns, "parent"));
        // The references go before the owner does, so they are gone by now.
        var child = await c.ConfigMapAsync(ns, "child");
        Assert.NotNull(child);
        Assert.Null(child["metadata"]!["ownerReferences"]);
        var shared = (await c.ConfigMapAsync(ns, "shared"))!;
        Assert.Equal(other["metadata"]!["uid"]!.GetValue<string>(), Assert.Single(shared["metadata"]!["ownerReferences"]!.AsArray())!["uid"]!.GetValue<string>());
    }

    [Fact]
    public async Task DependentWithItsOwnFinalizer_HoldsAForegroundOwner_UntilTheFinalizerIsRemoved()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-held");
        var parent = await c.CreateAsync(Cm(ns, "parent"));
        var held = Cm(ns, "held", GcCluster.Ref(parent));
        held["metadata"]!["finalizers"] = new JsonArray("example.com/hold");
        await c.CreateAllAsync(held, Cm(ns, "free", GcCluster.Ref(parent)));

        (await c.Kubectl.RunAsync("delete", "configmap", "parent", "-n", ns, "--cascade=foreground", "--wait=false")).Ok();
        await c.WaitGoneAsync(ns, "free");
        await GcCluster.WaitAsync(async () => (await c.ConfigMapAsync(ns, "held"))?["metadata"]?["deletionTimestamp"] is not null,
            "held to be marked for deletion", () => c.DescribeAsync(ns));
        // Nothing more is to happen while the finalizer stays: watch for a moment that the owner does not go.
        var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(700);
        while (DateTime.UtcNow < until)
        {
            var owner = await c.ConfigMapAsync(ns, "parent");
            Assert.True(owner is not null, $"the owner went while a blocking dependent remained: {await c.DescribeAsync(ns)}");
            Assert.NotNull(owner["metadata"]!["deletionTimestamp"]);
            Assert.Contains("foregroundDeletion", owner["metadata"]!["finalizers"]!.ToJsonString());
            await Task.Delay(100, Ct);
        }

        (await c.Kubectl.RunAsync("patch", "configmap", "held", "-n", ns, "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""")).Ok();
        await c.WaitGoneAsync(ns, "held", "parent");
    }

    [Fact]
    public async Task ForegroundDelete_OfAChain_GoesBottomUp()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-chain");
        var a = await c.CreateAsync(Cm(ns, "a"));
        var b = await c.CreateAsync(Cm(ns, "b", GcCluster.Ref(a)));
        var cc = await c.CreateAsync(Cm(ns, "c", GcCluster.Ref(b)));
        await c.CreateAsync(Cm(ns, "d", GcCluster.Ref(cc)));
        await using var watch = await ConfigMapWatch.StartAsync(c.Http, ns, "a", "b", "c", "d");

        (await c.Kubectl.RunAsync("delete", "configmap", "a", "-n", ns, "--cascade=foreground", "--timeout=20s")).Ok();
        await c.WaitGoneAsync(ns, "a", "b", "c", "d");
        await GcCluster.WaitAsync(() => Task.FromResult(watch.IndexOf(e => e is { Type: "DELETED", Name: "a" }) >= 0),
            "a's DELETED event", () => Task.FromResult(watch.ToString()));
        var order = watch.Events.Where(e => e.Type == "DELETED").Select(e => e.Name).ToList();
        Assert.True(order.SequenceEqual(["d", "c", "b", "a"]), $"deletion order {string.Join(",", order)}: {watch}");
        // Each intermediate owner went through its own foreground deletion.
        foreach (var name in new[] { "b", "c" })
            Assert.True(watch.IndexOf(e => e.Name == name && e.Deleting && e.Finalizers.Contains("foregroundDeletion")) >= 0, $"{name} was not deleted in the foreground: {watch}");
    }

    [Fact]
    public async Task ForegroundDelete_OfADeployment_RemovesItsReplicaSetAndPodsBeforeIt()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-deployment");
        // A real Deployment: its controller makes the ReplicaSet and that one's controller the pods (blockOwnerDeletion on both).
        (await c.Kubectl.RunAsync("create", "deployment", "web", "-n", ns, "--image=registry.local/web:1", "--replicas=3")).Ok();
        await GcCluster.WaitAsync(async () => (await c.GetAsync($"/api/v1/namespaces/{ns}/pods"))!["items"]!.AsArray().Count == 3,
            "the Deployment's 3 pods", () => c.DescribeAsync(ns));

        (await c.Kubectl.RunAsync("delete", "deployment", "web", "-n", ns, "--cascade=foreground", "--timeout=25s")).Ok();
        // kubectl returned once the Deployment was gone; its dependents went first, and nothing was made again.
        Assert.Empty((await c.GetAsync($"/apis/apps/v1/namespaces/{ns}/replicasets"))!["items"]!.AsArray());
        Assert.Empty((await c.GetAsync($"/api/v1/namespaces/{ns}/pods"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task DeletingANamespace_WithOwnedObjectsAndAForegroundDeletionInProgress_EmptiesAndRemovesIt()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-namespace");
        var owners = await c.CreateAllAsync(ReplicaSet(ns, "web"), Cm(ns, "owner"));
        var (rs, owner) = (owners[0], owners[1]);
        var held = Cm(ns, "held", GcCluster.Ref(owner));
        held["metadata"]!["finalizers"] = new JsonArray("example.com/hold");
        await c.CreateAllAsync([held, .. Enumerable.Range(0, 3).Select(i => Pod(ns, $"web-{i}", GcCluster.Ref(rs, controller: true)))]);
        (await c.Kubectl.RunAsync("delete", "configmap", "owner", "-n", ns, "--cascade=foreground", "--wait=false")).Ok();

        (await c.Kubectl.RunAsync("delete", "namespace", ns, "--wait=false")).Ok();
        await GcCluster.WaitAsync(async () => (await c.GetAsync($"/api/v1/namespaces/{ns}/pods"))!["items"]!.AsArray().Count == 0
                && (await c.ConfigMapAsync(ns, "owner")) is null,
            "the pods and the foreground owner to go", () => c.DescribeAsync(ns));
        Assert.NotNull(await c.GetAsync($"/api/v1/namespaces/{ns}")); // held by the finalizer of "held"
        (await c.Kubectl.RunAsync("patch", "configmap", "held", "-n", ns, "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""")).Ok();
        await GcCluster.WaitAsync(async () => await c.GetAsync($"/api/v1/namespaces/{ns}") is null,
            $"namespace {ns} to disappear", async () => (await c.GetAsync($"/api/v1/namespaces/{ns}"))?.ToJsonString() + " " + await c.DescribeAsync(ns));
    }

    [Fact]
    public async Task JobDeletedWithoutAPolicy_OrphansItsPods_WithUpstreamsWarning_AndKubectlsBackgroundDeletesThem()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-job");
        var jobs = await c.CreateAllAsync(Job(ns, "kept"), Job(ns, "gone"));
        // Not controller references: the Job controller would count these pods beside the one it creates, and delete
        // one of them as over parallelism (a race that failed this test about one run in six).
        await c.CreateAllAsync(Pod(ns, "kept-pod", GcCluster.Ref(jobs[0])), Pod(ns, "gone-pod", GcCluster.Ref(jobs[1])));

        using var response = await c.Http.DeleteAsync($"/apis/batch/v1/namespaces/{ns}/jobs/kept", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(response.Headers.GetValues("Warning"), w => w.Contains("child pods are preserved by default when jobs are deleted"));
        await GcCluster.WaitAsync(async () => await c.GetAsync($"/apis/batch/v1/namespaces/{ns}/jobs/kept") is null,
            "job kept to go", async () => (await c.GetAsync($"/apis/batch/v1/namespaces/{ns}/jobs/kept"))?.ToJsonString() ?? "");
        var pod = (await c.GetAsync($"/api/v1/namespaces/{ns}/pods/kept-pod"))!;
        Assert.Null(pod["metadata"]!["ownerReferences"]);

        var deleted = (await c.Kubectl.RunAsync("delete", "job", "gone", "-n", ns)).Ok();
        Assert.DoesNotContain("preserved", deleted.Error);
        await GcCluster.WaitAsync(async () => await c.GetAsync($"/api/v1/namespaces/{ns}/pods/gone-pod") is null,
            "gone-pod to be collected", async () => (await c.GetAsync($"/api/v1/namespaces/{ns}/pods/gone-pod"))?.ToJsonString() ?? "");
    }

    [Theory]
    [InlineData("gc-invalid-policy", """{"propagationPolicy":"Sideways"}""", "propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"")]
    [InlineData("gc-invalid-both", """{"propagationPolicy":"Orphan","orphanDependents":true}""", "orphanDependents and deletionPropagation cannot be both set")]
    public async Task InvalidDeleteOptions_Are422_AndDeleteNothing(string ns, string body, string message)
    {
        using var c = Cluster();
        await c.NamespaceAsync(ns);
        await c.CreateAsync(Cm(ns, "target"));
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/namespaces/{ns}/configmaps/target") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        using var response = await c.Http.SendAsync(request, Ct);
        var status = await Json.ReadAsync(response);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Contains(message, status["message"]!.GetValue<string>());
        Assert.StartsWith("DeleteOptions.meta.k8s.io \"\" is invalid", status["message"]!.GetValue<string>());
        Assert.NotNull(await c.ConfigMapAsync(ns, "target"));
    }

    [Fact]
    public async Task LegacyOrphanDependentsInTheQuery_Orphans_AndFalseAnswers202WhileAFinalizerHolds()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-legacy");
        var owners = await c.CreateAllAsync(Cm(ns, "parent"), Cm(ns, "held"));
        await c.CreateAsync(Cm(ns, "child", GcCluster.Ref(owners[0])));
        (await c.Kubectl.RunAsync("patch", "configmap", "held", "-n", ns, "--type=merge", "-p", """{"metadata":{"finalizers":["example.com/hold"]}}""")).Ok();

        using (var orphaning = await c.Http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps/parent?orphanDependents=true", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, orphaning.StatusCode);
            Assert.Contains("orphan", (await Json.ReadAsync(orphaning))["metadata"]!["finalizers"]!.ToJsonString());
        }
        await c.WaitGoneAsync(ns, "parent");
        Assert.Null((await c.ConfigMapAsync(ns, "child"))!["metadata"]!["ownerReferences"]);

        using (var held = await c.Http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps/held?orphanDependents=false", Ct))
            Assert.Equal(HttpStatusCode.Accepted, held.StatusCode);
        using (var bad = await c.Http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps/child?gracePeriodSeconds=soon", Ct))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var graceful = await c.Http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps/child?gracePeriodSeconds=30", Ct))
            Assert.Equal(HttpStatusCode.OK, graceful.StatusCode);
        Assert.Null(await c.ConfigMapAsync(ns, "child"));
        (await c.Kubectl.RunAsync("patch", "configmap", "held", "-n", ns, "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""")).Ok();
    }

    [Fact]
    public async Task OrphanAndForegroundFinalizersTogether_AreRefused()
    {
        using var c = Cluster();
        var ns = await c.NamespaceAsync("gc-both-finalizers");
        var both = Cm(ns, "both");
        both["metadata"]!["finalizers"] = new JsonArray("orphan", "foregroundDeletion");
        var file = Path.Combine(Path.GetTempPath(), $"gc-both-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, both.ToJsonString(), Ct);
        try
        {
            var refused = await c.Kubectl.RunAsync("create", "-f", file);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("finalizer orphan and foregroundDeletion cannot be both set", refused.Error);
        }
        finally { File.Delete(file); }
    }

    static JsonObject Pod(string ns, string name, JsonObject owner) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = GcCluster.Metadata(ns, name, owner),
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "example.com/app:1" }) },
    };

    static JsonObject PodTemplate(string restartPolicy) => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "web" } },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "example.com/app:1" }), ["restartPolicy"] = restartPolicy },
    };

    static JsonObject ReplicaSet(string ns, string name) => Workload(ns, name, "ReplicaSet", "apps/v1");

    static JsonObject Workload(string ns, string name, string kind, string apiVersion, params JsonObject[] owners) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["metadata"] = GcCluster.Metadata(ns, name, owners),
        ["spec"] = new JsonObject
        {
            ["replicas"] = 3,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            ["template"] = PodTemplate("Always"),
        },
    };

    static JsonObject Job(string ns, string name) => new()
    {
        ["apiVersion"] = "batch/v1",
        ["kind"] = "Job",
        ["metadata"] = GcCluster.Metadata(ns, name),
        ["spec"] = new JsonObject { ["template"] = PodTemplate("Never") },
    };
}
