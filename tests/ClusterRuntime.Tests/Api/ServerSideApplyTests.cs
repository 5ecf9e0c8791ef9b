// Server-side apply through the real kubectl: conflicts between managers, --force-conflicts, managedFields, removal of fields no longer applied, the CSA upgrade.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class ServerSideApplyTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static string Deployment(string ns, int replicas, string image = "nginx:1.27") => $"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: {ns}
          labels:
            app: web
        spec:
          replicas: {replicas}
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
              - name: app
                image: {image}
                ports:
                - containerPort: 80
        """;

    Task<ProcessResult> Kubectl(string manifest, params string[] args) => fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(manifest), args);

    async Task<JsonObject> GetJsonAsync(string ns, string what, params string[] extra) =>
        JsonNode.Parse((await fx.Kubectl.RunAsync(["-n", ns, "get", what, "-o", "json", .. extra])).Ok().Out)!.AsObject();

    static JsonObject Entry(JsonObject obj, string manager, string operation) =>
        obj["metadata"]!["managedFields"]!.AsArray().Select(e => e!.AsObject())
            .Single(e => e["manager"]!.GetValue<string>() == manager && e["operation"]!.GetValue<string>() == operation);

    [Fact]
    public async Task TwoManagers_Conflict_ForceConflictsTakesOver_AndManagedFieldsShowBoth()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "ssa-conflict";
        await fx.NamespaceClientAsync(ns, Ct);
        (await Kubectl(Deployment(ns, 2), "apply", "--server-side", "--field-manager=manager-a", "-f", "-")).Ok();

        var conflict = await Kubectl(Deployment(ns, 3), "apply", "--server-side", "--field-manager=manager-b", "-f", "-");
        Assert.NotEqual(0, conflict.ExitCode);
        Assert.Contains("Apply failed with 1 conflict: conflict with \"manager-a\": .spec.replicas", conflict.Error);
        // kubectl adds its help only for a 409 Conflict Status with FieldManagerConflict causes.
        Assert.Contains("Please review the fields above--they currently have other managers", conflict.Error);
        Assert.Equal(2, (await GetJsonAsync(ns, "deployment/web"))["spec"]!["replicas"]!.GetValue<int>());

        (await Kubectl(Deployment(ns, 3), "apply", "--server-side", "--field-manager=manager-b", "--force-conflicts", "-f", "-")).Ok();
        var obj = await GetJsonAsync(ns, "deployment/web", "--show-managed-fields");
        Assert.Equal(3, obj["spec"]!["replicas"]!.GetValue<int>());
        var a = Entry(obj, "manager-a", "Apply");
        var b = Entry(obj, "manager-b", "Apply");
        Assert.Equal("FieldsV1", a["fieldsType"]!.GetValue<string>());
        Assert.Equal("apps/v1", b["apiVersion"]!.GetValue<string>());
        Assert.NotNull(b["time"]);
        // replicas moved to manager-b; both own the container (same values applied), keyed by name, and its port by containerPort+protocol.
        Assert.Null(a["fieldsV1"]!["f:spec"]!["f:replicas"]);
        Assert.NotNull(b["fieldsV1"]!["f:spec"]!["f:replicas"]);
        foreach (var e in new[] { a, b })
        {
            var container = e["fieldsV1"]!["f:spec"]!["f:template"]!["f:spec"]!["f:containers"]!["k:{\"name\":\"app\"}"]!.AsObject();
            Assert.NotNull(container["."]);
            Assert.NotNull(container["f:image"]);
            Assert.NotNull(container["f:ports"]!["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]!["f:containerPort"]);
            Assert.NotNull(e["fieldsV1"]!["f:spec"]!["f:selector"]);
            Assert.NotNull(e["fieldsV1"]!["f:metadata"]!["f:labels"]!["f:app"]);
        }

        var yaml = (await fx.Kubectl.RunAsync("-n", ns, "get", "deployment", "web", "-o", "yaml", "--show-managed-fields")).Ok().Out;
        Assert.Contains("manager: manager-a", yaml);
        Assert.Contains("manager: manager-b", yaml);
        Assert.Contains("f:replicas: {}", yaml);
        Assert.DoesNotContain("managedFields", (await fx.Kubectl.RunAsync("-n", ns, "get", "deployment", "web", "-o", "yaml")).Ok().Out);
    }

    [Fact]
    public async Task Apply_RemovesFieldsTheManagerStoppedApplying_KeepsThoseAnotherManagerOwns()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "ssa-remove";
        await fx.NamespaceClientAsync(ns, Ct);
        static string Cm(string ns, string data, string labels) => $"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: cm
              namespace: {ns}
              labels: {labels}
            data: {data}
            """;
        (await Kubectl(Cm(ns, "{a: '1', b: '2'}", "{x: one, y: two}"), "apply", "--server-side", "--field-manager=owner-a", "-f", "-")).Ok();
        // owner-b applies b with the same value: shared ownership, no conflict.
        (await Kubectl(Cm(ns, "{b: '2', c: '3'}", "{x: one}"), "apply", "--server-side", "--field-manager=owner-b", "-f", "-")).Ok();
        (await Kubectl(Cm(ns, "{d: '4'}", "{x: one}"), "apply", "--server-side", "--field-manager=owner-a", "-f", "-")).Ok();

        var obj = await GetJsonAsync(ns, "configmap/cm", "--show-managed-fields");
        Assert.Equal("""{"b":"2","c":"3","d":"4"}""", obj["data"]!.ToJsonString());
        Assert.Equal("""{"x":"one"}""", obj["metadata"]!["labels"]!.ToJsonString());
        var a = Entry(obj, "owner-a", "Apply")["fieldsV1"]!.AsObject();
        Assert.Equal("""{"f:d":{}}""", a["f:data"]!.ToJsonString());

        // A plain update by another client (kubectl edit's path) takes the field it changes from the applier.
        (await fx.Kubectl.RunAsync("-n", ns, "patch", "configmap", "cm", "--type=merge", "-p", """{"data":{"d":"5"}}""")).Ok();
        obj = await GetJsonAsync(ns, "configmap/cm", "--show-managed-fields");
        Assert.NotNull(Entry(obj, "kubectl-patch", "Update")["fieldsV1"]!["f:data"]!["f:d"]);
        Assert.Null(obj["metadata"]!["managedFields"]!.AsArray().FirstOrDefault(e => e!["manager"]!.GetValue<string>() == "owner-a" && e["fieldsV1"]?["f:data"] is not null));
    }

    [Fact]
    public async Task ClientSideApplied_ThenServerSideApply_UpgradesWithoutConflicts()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "ssa-upgrade";
        await fx.NamespaceClientAsync(ns, Ct);
        (await Kubectl(Deployment(ns, 2), "apply", "-f", "-")).Ok();
        var before = await GetJsonAsync(ns, "deployment/web", "--show-managed-fields");
        Assert.NotNull(Entry(before, "kubectl-client-side-apply", "Update")["fieldsV1"]!["f:spec"]!["f:replicas"]);

        var ssa = (await Kubectl(Deployment(ns, 4, "nginx:1.28"), "apply", "--server-side", "-f", "-")).Ok();
        Assert.Contains("serverside-applied", ssa.Out);
        var after = await GetJsonAsync(ns, "deployment/web", "--show-managed-fields");
        Assert.Equal(4, after["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("nginx:1.28", after["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.NotNull(Entry(after, "kubectl", "Apply")["fieldsV1"]!["f:spec"]!["f:replicas"]);

        // A second manager now conflicts with kubectl's apply, not with the old client-side manager.
        var conflict = await Kubectl(Deployment(ns, 5), "apply", "--server-side", "--field-manager=other", "-f", "-");
        Assert.NotEqual(0, conflict.ExitCode);
        Assert.Contains("conflicts with \"kubectl\":", conflict.Error);
        Assert.DoesNotContain("kubectl-client-side-apply", conflict.Error);
    }

    [Fact]
    public async Task RawApply_CreatesWhenMissing_NeedsFieldManager_AndIsNoOpWhenUnchanged()
    {
        using var http = await fx.NamespaceClientAsync("ssa-raw", Ct);
        const string url = "/api/v1/namespaces/ssa-raw/configmaps/raw";
        const string body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\ndata:\n  k: v\n";
        static StringContent Yaml(string text)
        {
            var c = new StringContent(text, Encoding.UTF8);
            c.Headers.ContentType = new("application/apply-patch+yaml");
            return c;
        }
        var missing = await http.PatchAsync(url, Yaml(body), Ct);
        Assert.Equal(422, (int)missing.StatusCode);
        Assert.Contains("fieldManager: Required value: is required for apply patch", (await Json.ReadAsync(missing))["message"]!.GetValue<string>());

        var created = await http.PatchAsync(url + "?fieldManager=raw", Yaml(body), Ct);
        Assert.Equal(201, (int)created.StatusCode);
        var rv = (await Json.ReadAsync(created))["metadata"]!["resourceVersion"]!.GetValue<string>();
        var again = await http.PatchAsync(url + "?fieldManager=raw", Yaml(body), Ct);
        Assert.Equal(200, (int)again.StatusCode);
        Assert.Equal(rv, (await Json.ReadAsync(again))["metadata"]!["resourceVersion"]!.GetValue<string>());

        var conflict = await http.PatchAsync(url + "?fieldManager=other", Yaml(body.Replace("k: v", "k: w")), Ct);
        Assert.Equal(409, (int)conflict.StatusCode);
        var status = await Json.ReadAsync(conflict);
        Assert.Equal("Conflict", status["reason"]!.GetValue<string>());
        Assert.Equal("Apply failed with 1 conflict: conflict with \"raw\": .data.k", status["message"]!.GetValue<string>());
        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal("FieldManagerConflict", cause["reason"]!.GetValue<string>());
        Assert.Equal(".data.k", cause["field"]!.GetValue<string>());
        Assert.Equal("conflict with \"raw\"", cause["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task UpdateEntries_NameTheSubresource_KeepTimeWhenNothingChanges_AndAreCappedAtTen()
    {
        using var http = await fx.NamespaceClientAsync("ssa-updates", Ct);
        const string url = "/api/v1/namespaces/ssa-updates/services";
        var svc = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "s" },
            ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
        };
        Assert.Equal(201, (int)(await http.PostAsync(url + "?fieldManager=creator", Json.Body(svc), Ct)).StatusCode);
        var status = new JsonObject { ["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = new JsonArray(new JsonObject { ["ip"] = "10.9.9.9" }) } } };
        var r = await http.PatchAsync(url + "/s/status?fieldManager=lb", Json.Body(status, "application/merge-patch+json"), Ct);
        Assert.Equal(200, (int)r.StatusCode);
        var obj = await Json.ReadAsync(r);
        var lb = Entry(obj, "lb", "Update");
        Assert.Equal("status", lb["subresource"]!.GetValue<string>());
        Assert.NotNull(lb["fieldsV1"]!["f:status"]!["f:loadBalancer"]!["f:ingress"]);
        var creator = Entry(obj, "creator", "Update");
        Assert.NotNull(creator["fieldsV1"]!["f:spec"]!["f:ports"]!["k:{\"port\":80,\"protocol\":\"TCP\"}"]);
        Assert.Null(creator["subresource"]);
        // A write that changes nothing keeps the entry's time, so it stays a no-op (same resourceVersion).
        static StringContent Same() => Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["same"] = "v" } } }, "application/merge-patch+json");
        // The controllers may write the Service in between (its status), so each try compares the patch's answer with
        // the object read just before it; a patch that wrote would never match.
        var first = await Json.ReadAsync(await http.PatchAsync(url + "/s?fieldManager=labeller", Same(), Ct));
        for (int attempt = 0; ; attempt++)
        {
            var before = await Json.ReadAsync(await http.GetAsync(url + "/s", Ct));
            var again = await Json.ReadAsync(await http.PatchAsync(url + "/s?fieldManager=labeller", Same(), Ct));
            Assert.Equal(Entry(first, "labeller", "Update")["time"]!.GetValue<string>(), Entry(again, "labeller", "Update")["time"]!.GetValue<string>());
            if (before["metadata"]!["resourceVersion"]!.GetValue<string>() == again["metadata"]!["resourceVersion"]!.GetValue<string>()) break;
            Assert.True(attempt < 4, $"a patch that changes nothing wrote the Service ({before["metadata"]!["resourceVersion"]} -> {again["metadata"]!["resourceVersion"]})");
        }

        for (int i = 0; i < 12; i++)
        {
            var label = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [$"l{i}"] = "v" } } };
            Assert.Equal(200, (int)(await http.PatchAsync($"{url}/s?fieldManager=writer-{i}", Json.Body(label, "application/merge-patch+json"), Ct)).StatusCode);
        }
        var entries = (await Json.ReadAsync(await http.GetAsync(url + "/s", Ct)))["metadata"]!["managedFields"]!.AsArray();
        Assert.Equal(10, entries.Count(e => e!["operation"]!.GetValue<string>() == "Update"));
        var ancient = entries.Single(e => e!["manager"]!.GetValue<string>() == "ancient-changes")!;
        Assert.NotNull(ancient["fieldsV1"]!["f:spec"]);
        Assert.Contains(entries, e => e!["manager"]!.GetValue<string>() == "writer-11");
    }
}
