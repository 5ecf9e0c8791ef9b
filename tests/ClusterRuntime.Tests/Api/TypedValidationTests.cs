// Every write is checked against the type's schema: a wrong type is a 422 Status naming the field path, whatever the verb.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class TypedValidationTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    Task<HttpClient> NamespaceAsync(string ns) => fx.NamespaceClientAsync(ns, Ct);

    /// <summary>Asserts a 422 Invalid Status whose causes name <paramref name="field"/>; returns the Status.</summary>
    static async Task<JsonObject> ExpectInvalid(HttpResponseMessage r, string field)
    {
        var body = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(r.StatusCode == HttpStatusCode.UnprocessableEntity, $"{(int)r.StatusCode}: {body}");
        var s = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("Status", s["kind"]!.GetValue<string>());
        Assert.Equal("Invalid", s["reason"]!.GetValue<string>());
        Assert.Equal(422, s["code"]!.GetValue<int>());
        var causes = s["details"]!["causes"]!.AsArray().Select(c => c!["field"]!.GetValue<string>()).ToList();
        Assert.Contains(field, causes);
        return s;
    }

    static JsonObject Pod(string name, JsonObject? spec = null) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = spec ?? new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }) },
    };

    [Fact]
    public async Task Create_WithWrongTypes_Is422NamingTheField()
    {
        using var http = await NamespaceAsync("typed-create");
        const string cms = "/api/v1/namespaces/typed-create/configmaps";

        var data = Json.ConfigMap("bad-data");
        data["data"] = new JsonArray(1);
        var s = await ExpectInvalid(await http.PostAsync(cms, Json.Body(data), Ct), "data");
        Assert.Equal("ConfigMap \"bad-data\" is invalid: data: Invalid value: \"array\": data in body must be of type object: \"array\"", s["message"]!.GetValue<string>());

        var labels = Json.ConfigMap("bad-labels");
        labels["metadata"]!["labels"] = "a";
        await ExpectInvalid(await http.PostAsync(cms, Json.Body(labels), Ct), "metadata.labels");

        var finalizers = Json.ConfigMap("bad-finalizers");
        finalizers["metadata"]!["finalizers"] = new JsonArray(1);
        await ExpectInvalid(await http.PostAsync(cms, Json.Body(finalizers), Ct), "metadata.finalizers[0]");

        var owners = Json.ConfigMap("bad-owners");
        owners["metadata"]!["ownerReferences"] = "zz";
        await ExpectInvalid(await http.PostAsync(cms, Json.Body(owners), Ct), "metadata.ownerReferences");

        const string pods = "/api/v1/namespaces/typed-create/pods";
        await ExpectInvalid(await http.PostAsync(pods, Json.Body(Pod("bad-containers", new JsonObject { ["containers"] = new JsonArray(1) })), Ct), "spec.containers[0]");
        var status = Pod("bad-status");
        status["status"] = new JsonObject { ["containerStatuses"] = new JsonArray(1) };
        await ExpectInvalid(await http.PostAsync(pods, Json.Body(status), Ct), "status.containerStatuses[0]");
        var port = Pod("bad-port", new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "c", ["image"] = "busybox",
                ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = "80" }),
            }),
        });
        await ExpectInvalid(await http.PostAsync(pods, Json.Body(port), Ct), "spec.containers[0].ports[0].containerPort");

        var deploy = new JsonObject
        {
            ["apiVersion"] = "apps/v1", ["kind"] = "Deployment",
            ["metadata"] = new JsonObject { ["name"] = "bad-replicas" },
            ["spec"] = new JsonObject { ["replicas"] = "3" },
        };
        await ExpectInvalid(await http.PostAsync("/apis/apps/v1/namespaces/typed-create/deployments", Json.Body(deploy), Ct), "spec.replicas");

        // Nothing of the above was stored (the namespace's own kube-root-ca.crt is all there is).
        var list = await Json.ReadAsync(await http.GetAsync(cms, Ct));
        Assert.Equal(["kube-root-ca.crt"], list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task IntOrStringQuantitiesAndMaps_AcceptBothForms_RejectOthers()
    {
        using var http = await NamespaceAsync("typed-forms");
        var svc = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = "web" },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["app"] = "web" },
                ["ports"] = new JsonArray(
                    new JsonObject { ["name"] = "a", ["port"] = 80, ["targetPort"] = "http" },
                    new JsonObject { ["name"] = "b", ["port"] = 81, ["targetPort"] = 8081 }),
            },
        };
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/typed-forms/services", Json.Body(svc), Ct)).StatusCode);
        svc["metadata"]!["name"] = "web2";
        svc["spec"]!["ports"]![0]!["targetPort"] = true;
        await ExpectInvalid(await http.PostAsync("/api/v1/namespaces/typed-forms/services", Json.Body(svc), Ct), "spec.ports[0].targetPort");

        JsonObject WithLimits(string name, JsonNode cpu) => Pod(name, new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "c", ["image"] = "busybox",
                ["resources"] = new JsonObject { ["limits"] = new JsonObject { ["cpu"] = cpu, ["memory"] = "64Mi" } },
            }),
        });
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/typed-forms/pods", Json.Body(WithLimits("q1", "100m")), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/typed-forms/pods", Json.Body(WithLimits("q2", 1)), Ct)).StatusCode);
        await ExpectInvalid(await http.PostAsync("/api/v1/namespaces/typed-forms/pods", Json.Body(WithLimits("q3", new JsonArray(1))), Ct), "spec.containers[0].resources.limits.cpu");
    }

    [Fact]
    public async Task UpdatePatchAndStatus_WithWrongTypes_Are422_AndTheObjectIsUnchanged()
    {
        using var http = await NamespaceAsync("typed-update");
        const string cm = "/api/v1/namespaces/typed-update/configmaps/c";
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/typed-update/configmaps", Json.Body(Json.ConfigMap("c", null, ("k", "v"))), Ct)).StatusCode);

        var put = Json.ConfigMap("c");
        put["data"] = new JsonArray(1);
        await ExpectInvalid(await http.PutAsync(cm, Json.Body(put), Ct), "data");
        await ExpectInvalid(await http.PatchAsync(cm, Json.Body(new JsonObject { ["data"] = new JsonArray(1) }, "application/merge-patch+json"), Ct), "data");
        await ExpectInvalid(await http.PatchAsync(cm, Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["labels"] = "a" } }, "application/strategic-merge-patch+json"), Ct), "metadata.labels");
        var ops = new JsonArray(new JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers", ["value"] = new JsonArray(1) });
        await ExpectInvalid(await http.PatchAsync(cm, Json.Body(ops, "application/json-patch+json"), Ct), "metadata.finalizers[0]");
        var number = Json.ConfigMap("c");
        number["data"] = new JsonObject { ["k"] = 5 };
        await ExpectInvalid(await http.PutAsync(cm, Json.Body(number), Ct), "data.k");

        var after = await Json.ReadAsync(await http.GetAsync(cm, Ct));
        Assert.Equal("v", after["data"]!["k"]!.GetValue<string>());
        Assert.Null(after["metadata"]!["finalizers"]);

        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/typed-update/pods", Json.Body(Pod("p")), Ct)).StatusCode);
        const string podStatus = "/api/v1/namespaces/typed-update/pods/p/status";
        var statusPatch = new JsonObject { ["status"] = new JsonObject { ["containerStatuses"] = new JsonArray(1) } };
        await ExpectInvalid(await http.PatchAsync(podStatus, Json.Body(statusPatch, "application/merge-patch+json"), Ct), "status.containerStatuses[0]");
        var pod = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/typed-update/pods/p", Ct));
        pod["status"] = new JsonObject { ["phase"] = 3 };
        await ExpectInvalid(await http.PutAsync(podStatus, Json.Body(pod), Ct), "status.phase");
        // A well-typed status update still works.
        Assert.Equal(HttpStatusCode.OK, (await http.PatchAsync(podStatus, Json.Body(new JsonObject { ["status"] = new JsonObject { ["phase"] = "Running" } }, "application/merge-patch+json"), Ct)).StatusCode);
    }

    [Fact]
    public async Task Kubectl_WorkflowObjects_StillValidate()
    {
        Support.Kubectl.RequireInstalled();
        using var tmp = new TempDir("typed-");
        var dir = tmp.Path;
        var manifest = Path.Combine(dir, "app.yaml");
        await File.WriteAllTextAsync(manifest, """
            apiVersion: v1
            kind: Namespace
            metadata: {name: typed-kubectl}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: typed-kubectl, labels: {app: web}}
            spec:
              replicas: 2
              strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}, annotations: {a: b}}
                spec:
                  tolerations: [{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 30}]
                  volumes:
                  - {name: cfg, configMap: {name: web, items: [{key: k, path: p, mode: 420}]}}
                  - {name: tmp, emptyDir: {sizeLimit: 1Gi}}
                  containers:
                  - name: web
                    image: nginx:1.27
                    args: ["--port", "8080"]
                    env: [{name: A, value: "1"}, {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
                    ports: [{name: http, containerPort: 8080, protocol: TCP}]
                    resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 1, memory: 128Mi}}
                    livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10}
                    readinessProbe: {tcpSocket: {port: 8080}}
                    securityContext: {runAsNonRoot: true, capabilities: {drop: [ALL]}}
                    volumeMounts: [{name: cfg, mountPath: /etc/web, readOnly: true}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: typed-kubectl}
            spec:
              selector: {app: web}
              ports: [{port: 80, targetPort: http}]
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: web, namespace: typed-kubectl}
            stringData: {password: hunter2}
            ---
            apiVersion: batch/v1
            kind: Job
            metadata: {name: once, namespace: typed-kubectl}
            spec:
              backoffLimit: 2
              template:
                spec:
                  restartPolicy: Never
                  containers: [{name: c, image: busybox, command: [sh, -c, "true"]}]
            """, Ct);
        (await fx.Kubectl.RunAsync("apply", "-f", manifest)).Ok();
        var get = (await fx.Kubectl.RunAsync("get", "deploy,svc,secret,job", "-n", "typed-kubectl", "-o", "name")).Ok();
        Assert.Contains("deployment.apps/web", get.Out);
        Assert.Contains("job.batch/once", get.Out);
    }
}
