// kubectl against the published OpenAPI: explain at depth (v3 and v2 protobuf), create -f of a List (v2 validation).
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class OpenApiKubectlTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    Support.Kubectl K => fx.Kubectl;

    [Theory]
    [InlineData("deployment", "KIND:       Deployment", "spec\t<DeploymentSpec>", "Keeps a number of identical pods running")]
    [InlineData("deployment.spec.template.spec.containers.livenessProbe", "FIELD: livenessProbe <Probe>", "httpGet\t<HTTPGetAction>", "the container is restarted when it fails")]
    [InlineData("deployment.spec.template.spec.containers.livenessProbe.httpGet", "FIELD: httpGet <HTTPGetAction>", "port\t<IntOrString> -required-", "The port, as a number or a container port name.")]
    [InlineData("pod.spec.containers.ports", "FIELD: ports <[]ContainerPort>", "containerPort\t<integer> -required-", "The port number inside the pod's network namespace.")]
    [InlineData("pod.spec.containers.resources", "FIELD: resources <ResourceRequirements>", "limits\t<map[string]Quantity>", "The most of each resource the container may use.")]
    [InlineData("service.spec.ports", "FIELD: ports <[]ServicePort>", "targetPort\t<IntOrString>", "The port the service listens on.")]
    [InlineData("configmap", "KIND:       ConfigMap", "data\t<map[string]string>", "UTF-8 values by key.")]
    [InlineData("secret.metadata", "FIELD: metadata <ObjectMeta>", "labels\t<map[string]string>", "Key/value pairs used to organize objects")]
    // A field the table leaves undescribed still renders, with kubectl's placeholder.
    [InlineData("pod.spec.volumes.csi", "FIELD: csi <CSIVolumeSource>", "driver\t<string> -required-", "<no description>")]
    [InlineData("poddisruptionbudget.spec", "FIELD: spec <PodDisruptionBudgetSpec>", "minAvailable\t<IntOrString>", "must stay available")]
    public async Task Explain_PrintsFieldsTypesAndDescriptions(string path, string header, string field, string description)
    {
        Support.Kubectl.RequireInstalled();
        var r = (await K.RunAsync("explain", path)).Ok();
        Assert.Contains(header, r.Out);
        Assert.Contains(field, r.Out);
        Assert.Contains(description, r.Out.Replace("\n    ", " "));
    }

    [Fact]
    public async Task ExplainOpenApiV2_ReadsTheProtobufDocument()
    {
        Support.Kubectl.RequireInstalled();
        // plaintext-openapiv2 reads /openapi/v2 as gnostic protobuf and builds kubectl's proto models from it.
        var r = (await K.RunAsync("explain", "--output=plaintext-openapiv2", "deployment.spec.template.spec.containers.livenessProbe", "-v=6")).Ok();
        Assert.Contains("RESOURCE: livenessProbe <Object>", r.Out);
        Assert.Contains("initialDelaySeconds\t<integer>", r.Out);
        Assert.Contains("Seconds after the container starts before the first check.", r.Out);
        Assert.Matches(@"GET https://\S+/openapi/v2\S* 200 OK", r.Error);
    }

    [Fact]
    public async Task CreateList_ValidatesItemsAgainstOpenApiV2()
    {
        Support.Kubectl.RequireInstalled();
        (await K.RunAsync("create", "namespace", "oa-list")).Ok();
        const string list = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: ConfigMap
              metadata: {name: NAME-config}
              data: {a: b}
            - apiVersion: apps/v1
              kind: Deployment
              metadata: {name: NAME-web}
              spec:
                selector: {matchLabels: {app: NAME}}
                template:
                  metadata: {labels: {app: NAME}}
                  spec:
                    containers:
                    - name: web
                      image: nginx
                      EXTRA
                      ports: [{containerPort: 80}]
                      resources: {limits: {cpu: 100m, memory: 1Gi}}
            """;
        var good = (await K.RunAsync(System.Text.Encoding.UTF8.GetBytes(list.Replace("NAME", "good").Replace("EXTRA", "imagePullPolicy: Always")),
            "create", "-n", "oa-list", "-f", "-", "-v=6")).Ok();
        Assert.Contains("configmap/good-config created", good.Out);
        Assert.Contains("deployment.apps/good-web created", good.Out);
        Assert.Matches(@"GET https://\S+/openapi/v2\S* 200 OK", good.Error);

        // kubectl validates a List's items on the client with the v2 schemas: an unknown field names its type.
        var bad = await K.RunAsync(System.Text.Encoding.UTF8.GetBytes(list.Replace("NAME", "bad").Replace("EXTRA", "imagePolicy: Always")),
            "create", "-n", "oa-list", "-f", "-");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("unknown field \"imagePolicy\" in io.k8s.api.core.v1.Container", bad.Error);
        Assert.Contains("NotFound", (await K.RunAsync("get", "-n", "oa-list", "configmap", "bad-config")).Error);
    }

    [Fact]
    public async Task Documents_CarryHashesAndETags()
    {
        using var http = fx.Server.CreateClient();
        var index = JsonNode.Parse(await http.GetStringAsync("/openapi/v3", Ct))!["paths"]!.AsObject();
        foreach (var key in new[] { "api/v1", "apis/apps/v1", "apis/policy/v1", "apis/scheduling.k8s.io/v1", "apis/autoscaling/v2", "apis/networking.k8s.io/v1" })
        {
            var url = index[key]!["serverRelativeURL"]!.GetValue<string>();
            var body = await http.GetByteArrayAsync(url, Ct);
            Assert.EndsWith("?hash=" + Convert.ToHexString(SHA512.HashData(body)), url);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v2");
        request.Headers.TryAddWithoutValidation("Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
        using var proto = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, proto.StatusCode);
        Assert.Equal("application/com.github.proto-openapi.spec.v2.v1.0+protobuf", proto.Content.Headers.ContentType!.MediaType);
        var etag = proto.Headers.ETag!;
        var bytes = await proto.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal($"\"{Convert.ToHexString(SHA512.HashData(bytes))}\"", etag.Tag);
        // Field 1 of openapi.v2.Document is the swagger version: tag 0x0a, length 3, "2.0".
        Assert.Equal(new byte[] { 0x0a, 3, (byte)'2', (byte)'.', (byte)'0' }, bytes[..5]);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/openapi/v2");
        again.Headers.TryAddWithoutValidation("Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await http.SendAsync(again, Ct);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var json = await http.GetAsync("/openapi/v2", Ct);
        Assert.Equal("application/json", json.Content.Headers.ContentType!.MediaType);
        var doc = JsonNode.Parse(await json.Content.ReadAsStringAsync(Ct))!;
        Assert.Equal("2.0", doc["swagger"]!.GetValue<string>());
        Assert.Equal("#/definitions/io.k8s.api.core.v1.PodSpec", doc["definitions"]!["io.k8s.api.core.v1.PodTemplateSpec"]!["properties"]!["spec"]!["$ref"]!.GetValue<string>());
    }
}
