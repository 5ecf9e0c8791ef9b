// fieldValidation=Strict|Warn|Ignore: unknown and duplicate fields refused, warned of, or dropped; kubectl's default (strict) names the field.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class FieldValidationTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Ns = "field-validation";

    static string Deployment(string name, string replicasField) => $$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{name}}
          namespace: {{Ns}}
        spec:
          {{replicasField}}: 2
          selector:
            matchLabels: {app: {{name}}}
          template:
            metadata:
              labels: {app: {{name}}}
            spec:
              containers:
              - name: app
                image: nginx:1.27
                imagePullPolicy: IfNotPresent
                ports: [{containerPort: 80, name: http}]
                env: [{name: A, value: "1"}]
                resources:
                  requests: {cpu: 10m, memory: 16Mi}
                  limits: {memory: 64Mi}
                readinessProbe:
                  httpGet: {path: /, port: http}
                  periodSeconds: 5
                volumeMounts: [{name: data, mountPath: /data}]
              volumes:
              - name: data
                emptyDir: {}
              tolerations: [{key: k, operator: Exists, effect: NoSchedule}]
        """;

    [Fact]
    public async Task Kubectl_DefaultFlags_MisspelledFieldFails_NamingIt_WellFormedManifestApplies()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync(Ns, Ct);
        var bad = await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(Deployment("typo", "replicass")), "apply", "-f", "-");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("strict decoding error: unknown field \"spec.replicass\"", bad.Error);
        Assert.Contains("NotFound", (await fx.Kubectl.RunAsync("-n", Ns, "get", "deployment", "typo")).Error);

        var good = (await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(Deployment("fine", "replicas")), "apply", "-f", "-")).Ok();
        Assert.DoesNotContain("Warning", good.Error);
        var ssa = await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(Deployment("fine", "replicass")), "apply", "--server-side", "-f", "-");
        Assert.NotEqual(0, ssa.ExitCode);
        Assert.Contains("unknown field \"spec.replicass\"", ssa.Error);
        var warned = (await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(Deployment("warned", "replicass")), "apply", "--validate=warn", "-f", "-")).Ok();
        Assert.Contains("unknown field \"spec.replicass\"", warned.Error);
    }

    static StringContent Raw(string json) => new(json, Encoding.UTF8, "application/json");

    const string WithUnknown = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"NAME","labelz":{"a":"b"}},"data":{"k":"1"},"extra":true}""";
    const string WithDuplicate = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"NAME"},"data":{"k":"1","k":"2"}}""";

    [Fact]
    public async Task Raw_StrictRefuses_WarnWarnsAndDrops_IgnoreDrops_DefaultIsWarn()
    {
        using var http = await fx.NamespaceClientAsync(Ns, Ct);
        const string url = $"/api/v1/namespaces/{Ns}/configmaps";

        var strict = await http.PostAsync(url + "?fieldValidation=Strict", Raw(WithUnknown.Replace("NAME", "s")), Ct);
        Assert.Equal(400, (int)strict.StatusCode);
        var message = (await Json.ReadAsync(strict))["message"]!.GetValue<string>();
        Assert.StartsWith("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: ", message);
        Assert.Contains("unknown field \"extra\"", message);
        Assert.Contains("unknown field \"metadata.labelz\"", message);
        var dup = await http.PostAsync(url + "?fieldValidation=Strict", Raw(WithDuplicate.Replace("NAME", "s")), Ct);
        Assert.Equal(400, (int)dup.StatusCode);
        Assert.Contains("strict decoding error: duplicate field \"data.k\"", (await Json.ReadAsync(dup))["message"]!.GetValue<string>());

        foreach (var (query, name) in new[] { ("?fieldValidation=Warn", "w"), ("", "d") })
        {
            var warn = await http.PostAsync(url + query, Raw(WithUnknown.Replace("NAME", name)), Ct);
            Assert.Equal(201, (int)warn.StatusCode);
            var warnings = warn.Headers.GetValues("Warning").ToList();
            Assert.Contains("299 - \"unknown field \\\"extra\\\"\"", warnings);
            Assert.Contains("299 - \"unknown field \\\"metadata.labelz\\\"\"", warnings);
            var stored = await Json.ReadAsync(await http.GetAsync($"{url}/{name}", Ct));
            Assert.Null(stored["extra"]);
            Assert.Null(stored["metadata"]!["labelz"]);
        }
        var warnDup = await http.PostAsync(url + "?fieldValidation=Warn", Raw(WithDuplicate.Replace("NAME", "wd")), Ct);
        Assert.Equal(201, (int)warnDup.StatusCode);
        Assert.Contains("299 - \"duplicate field \\\"data.k\\\"\"", warnDup.Headers.GetValues("Warning"));
        Assert.Equal("2", (await Json.ReadAsync(warnDup))["data"]!["k"]!.GetValue<string>());

        var ignore = await http.PostAsync(url + "?fieldValidation=Ignore", Raw(WithUnknown.Replace("NAME", "i")), Ct);
        Assert.Equal(201, (int)ignore.StatusCode);
        Assert.False(ignore.Headers.Contains("Warning"));
        Assert.Null((await Json.ReadAsync(ignore))["extra"]);

        // Patches: the unknown field in a merge patch and in a JSON patch's result.
        var merge = new StringContent("""{"data":{"k":"3"},"extra":1}""", Encoding.UTF8, "application/merge-patch+json");
        Assert.Equal(400, (int)(await http.PatchAsync($"{url}/i?fieldValidation=Strict", merge, Ct)).StatusCode);
        var json = new StringContent("""[{"op":"add","path":"/extra","value":1}]""", Encoding.UTF8, "application/json-patch+json");
        var jr = await http.PatchAsync($"{url}/i?fieldValidation=Warn", json, Ct);
        Assert.Equal(200, (int)jr.StatusCode);
        Assert.Contains("299 - \"unknown field \\\"extra\\\"\"", jr.Headers.GetValues("Warning"));

        var badDirective = await http.PostAsync(url + "?fieldValidation=Loud", Raw(WithUnknown.Replace("NAME", "l")), Ct);
        Assert.Equal(422, (int)badDirective.StatusCode);
    }
}
