// Unit tests of the API machinery's pure parts: selectors, patches, protobuf bodies, paths, tokens, discovery negotiation.
using Appliance.Common.Pki;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Patch;
using Appliance.ClusterRuntime.Api.Protobuf;
using Appliance.ClusterRuntime.Api.Schema;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Tables;
using Appliance.ClusterRuntime.Pki;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "Unit")]
public sealed class MachineryUnitTests
{
    static readonly Dictionary<string, string> Labels = new() { ["app"] = "web", ["tier"] = "front", ["empty"] = "" };

    [Theory]
    [InlineData("", true)]
    [InlineData("app=web", true)]
    [InlineData("app==web", true)]
    [InlineData("app!=web", false)]
    [InlineData("app=web,tier=back", false)]
    [InlineData("tier in (front, back)", true)]
    [InlineData("tier notin (front)", false)]
    [InlineData("missing notin (x)", true)]
    [InlineData("app", true)]
    [InlineData("!app", false)]
    [InlineData("!missing", true)]
    [InlineData("empty=", true)]
    [InlineData(" app = web , tier in (front) ", true)]
    public void LabelSelector_Matches(string selector, bool expected) =>
        Assert.Equal(expected, LabelSelector.Parse(selector).Matches(k => Labels.GetValueOrDefault(k)));

    [Theory]
    [InlineData("app in (a")]
    [InlineData("app in a")]
    [InlineData("=x")]
    [InlineData("app=web;tier=x")]
    public void LabelSelector_Malformed_Is400(string selector)
    {
        var e = Assert.Throws<ApiException>(() => LabelSelector.Parse(selector));
        Assert.Equal(400, e.Code);
    }

    [Fact]
    public void FieldSelector_SupportedFieldsOnly()
    {
        var pods = ResourceTable.Find("", "v1", "pods")!;
        var pod = JsonNode.Parse("""{"metadata":{"name":"p","namespace":"n"},"spec":{"nodeName":"edge"},"status":{"phase":"Running"}}""")!.AsObject();
        Assert.True(FieldSelector.Parse("spec.nodeName=edge,status.phase!=Pending", pods).Matches(pod));
        Assert.False(FieldSelector.Parse("metadata.namespace=other", pods).Matches(pod));
        Assert.Equal("p", FieldSelector.Parse("metadata.name==p", pods).ExactName);
        var cms = ResourceTable.Find("", "v1", "configmaps")!;
        Assert.Equal(400, Assert.Throws<ApiException>(() => FieldSelector.Parse("spec.nodeName=x", cms)).Code);
    }

    [Fact]
    public void MergePatch_Rfc7386()
    {
        var target = JsonNode.Parse("""{"a":"b","c":{"d":"e","f":"g"},"l":[1,2]}""");
        var patch = JsonNode.Parse("""{"a":"z","c":{"f":null},"l":[3]}""");
        Assert.Equal("""{"a":"z","c":{"d":"e"},"l":[3]}""", JsonMergePatch.Apply(target, patch)!.ToJsonString());
    }

    [Fact]
    public void StrategicMergePatch_MergesContainersByName_AndHonoursDirectives()
    {
        var target = JsonNode.Parse("""{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]},"metadata":{"finalizers":["x"]}}""");
        var patch = JsonNode.Parse("""{"spec":{"containers":[{"name":"b","image":"b:2"},{"name":"c","image":"c:1"},{"name":"a","$patch":"delete"}],"$setElementOrder/containers":[{"name":"b"},{"name":"c"}]},"metadata":{"finalizers":["y"],"labels":{"k":"v"}}}""");
        var result = StrategicMergePatch.Apply(target, patch, TypeCatalog.Get("io.k8s.api.core.v1.Pod"))!;
        Assert.Equal("""[{"name":"b","image":"b:2"},{"name":"c","image":"c:1"}]""", result["spec"]!["containers"]!.ToJsonString());
        // A set merges as upstream orders it: values new to the list first, then the live ones (KubectlPatchTests).
        Assert.Equal("""["y","x"]""", result["metadata"]!["finalizers"]!.ToJsonString());
        Assert.Equal("v", result["metadata"]!["labels"]!["k"]!.GetValue<string>());
        var replaced = StrategicMergePatch.Apply(JsonNode.Parse("""{"data":{"a":"1","b":"2"}}"""), JsonNode.Parse("""{"data":{"$patch":"replace","c":"3"}}"""), TypeCatalog.Get("io.k8s.api.core.v1.ConfigMap"))!;
        Assert.Equal("""{"c":"3"}""", replaced["data"]!.ToJsonString());
    }

    [Fact]
    public void StrategicMergePatch_TakesMergeKeysFromTheTypeTable_PerType()
    {
        var service = TypeCatalog.Get("io.k8s.api.core.v1.Service");
        // Service ports merge by port; a container's ports by containerPort; tolerations (no patch strategy) are replaced.
        var svc = StrategicMergePatch.Apply(
            JsonNode.Parse("""{"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}]}}"""),
            JsonNode.Parse("""{"spec":{"ports":[{"port":443,"targetPort":8443}]}}"""), service)!;
        Assert.Equal("""[{"port":80,"name":"http"},{"port":443,"name":"https","targetPort":8443}]""", svc["spec"]!["ports"]!.ToJsonString());
        var pod = StrategicMergePatch.Apply(
            JsonNode.Parse("""{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80},{"containerPort":81}]}],"tolerations":[{"key":"x"}]}}"""),
            JsonNode.Parse("""{"spec":{"containers":[{"name":"a","ports":[{"containerPort":81,"name":"m"}]}],"tolerations":[{"key":"y"}]}}"""),
            TypeCatalog.Get("io.k8s.api.core.v1.Pod"))!;
        Assert.Equal("""[{"containerPort":80},{"containerPort":81,"name":"m"}]""", pod["spec"]!["containers"]![0]!["ports"]!.ToJsonString());
        Assert.Equal("""[{"key":"y"}]""", pod["spec"]!["tolerations"]!.ToJsonString());
    }

    [Fact]
    public void JsonPatch_Rfc6902_AndFailingTestIs422()
    {
        var doc = JsonNode.Parse("""{"a":{"b":[1,2]},"c":"d"}""")!;
        var ops = JsonNode.Parse("""[{"op":"add","path":"/a/b/-","value":3},{"op":"replace","path":"/c","value":"e"},{"op":"move","from":"/c","path":"/f"},{"op":"remove","path":"/a/b/0"},{"op":"test","path":"/f","value":"e"},{"op":"add","path":"/x~1y","value":1}]""")!.AsArray();
        Assert.Equal("""{"a":{"b":[2,3]},"f":"e","x/y":1}""", JsonPatch.Apply(doc, ops).ToJsonString());
        var bad = JsonNode.Parse("""[{"op":"test","path":"/c","value":"zzz"}]""")!.AsArray();
        Assert.Equal(422, Assert.Throws<ApiException>(() => JsonPatch.Apply(doc, bad)).Code);
    }

    [Fact]
    public void Protobuf_DecodesAConfigMapEnvelope()
    {
        // runtime.Unknown{typeMeta{apiVersion:"v1",kind:"ConfigMap"}, raw: ConfigMap{metadata{name:"app",generateName:""}, data{"k":"v"}}}
        static byte[] Field(int n, byte[] body) => [(byte)(n << 3 | 2), (byte)body.Length, .. body];
        static byte[] Str(int n, string s) => Field(n, System.Text.Encoding.UTF8.GetBytes(s));
        byte[] meta = [.. Str(1, "app"), .. Str(2, "")];
        byte[] entry = [.. Str(1, "k"), .. Str(2, "v")];
        byte[] raw = [.. Field(1, meta), .. Field(2, entry)];
        byte[] typeMeta = [.. Str(1, "v1"), .. Str(2, "ConfigMap")];
        byte[] body = [.. "k8s\0"u8.ToArray(), .. Field(1, typeMeta), .. Field(2, raw)];
        var obj = ProtobufDecoder.Decode(body);
        Assert.Equal("""{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"app"},"data":{"k":"v"}}""", obj.ToJsonString());
        Assert.Equal(400, Assert.Throws<ApiException>(() => ProtobufDecoder.Decode("nope"u8)).Code);
    }

    [Fact]
    public void RequestInfo_ParsesScopesSubresourcesAndLegacyWatch()
    {
        var a = RequestInfo.Parse("/api/v1/namespaces/ns1/configmaps/cm")!;
        Assert.Equal(("configmaps", "ns1", "cm", null, false), (a.Resource.Plural, a.Namespace, a.Name, a.Subresource, a.LegacyWatch));
        var b = RequestInfo.Parse("/api/v1/namespaces/ns1/status")!;
        Assert.Equal(("namespaces", null, "ns1", "status"), (b.Resource.Plural, b.Namespace, b.Name, b.Subresource));
        var c = RequestInfo.Parse("/apis/apps/v1/watch/namespaces/x/deployments")!;
        Assert.True(c.LegacyWatch);
        Assert.Equal("x", c.Namespace);
        var d = RequestInfo.Parse("/api/v1/configmaps")!;
        Assert.Null(d.Namespace);
        Assert.Equal(404, Assert.Throws<ApiException>(() => RequestInfo.Parse("/api/v1/widgets")).Code);
        Assert.Equal(404, Assert.Throws<ApiException>(() => RequestInfo.Parse("/api/v1/namespaces/x/configmaps/cm/scale")).Code);
        Assert.Null(RequestInfo.Parse("/apis/unknown.io/v1/things"));
    }

    [Theory]
    [InlineData("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", "v2")]
    [InlineData("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", "v2beta1")]
    [InlineData("application/json", null)]
    [InlineData("application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", null)]
    [InlineData("", null)]
    public void Discovery_NegotiatesAggregatedVersion(string accept, string? expected) =>
        Assert.Equal(expected, Discovery.AggregatedVersion(accept));

    [Fact]
    public void NodeToken_RoundTrips_AndHashesTheCaPem()
    {
        var hash = NodeToken.HashCa("-----BEGIN CERTIFICATE-----\n");
        var token = new NodeToken(hash, "server", "abc123");
        Assert.True(NodeToken.TryParse(token.ToString(), out var parsed));
        Assert.Equal(token, parsed);
        Assert.False(NodeToken.TryParse("K10short::server:x", out _));
        Assert.False(NodeToken.TryParse("abc", out _));
    }

    [Fact]
    public void ContinueToken_RoundTrips_AndRejectsGarbage()
    {
        var t = ContinueToken.Encode(42, "/registry/configmaps/ns/b\0");
        Assert.Equal((42L, "/registry/configmaps/ns/b\0"), ContinueToken.Decode(t));
        Assert.Equal(400, Assert.Throws<ApiException>(() => ContinueToken.Decode("%%%")).Code);
    }

    [Theory]
    [InlineData(5, "5s")]
    [InlineData(150, "2m30s")]
    [InlineData(3600, "60m")]
    [InlineData(4 * 3600 + 120, "4h2m")]
    [InlineData(86400 * 3, "3d")]
    public void Age_PrintsLikeKubectl(int seconds, string expected)
    {
        var now = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(expected, TableColumns.Age(Meta.Time(now.AddSeconds(-seconds)), now));
    }

    [Fact]
    public void Validation_RejectsBadNamesAndLabels()
    {
        var cms = ResourceTable.Find("", "v1", "configmaps")!;
        Validation.Check(cms, JsonNode.Parse("""{"metadata":{"name":"a.b-c","labels":{"example.com/k":"v_1"}}}""")!.AsObject());
        Assert.Equal(422, Assert.Throws<ApiException>(() => Validation.Check(cms, JsonNode.Parse("""{"metadata":{"name":"UPPER"}}""")!.AsObject())).Code);
        Assert.Equal(422, Assert.Throws<ApiException>(() => Validation.Check(cms, JsonNode.Parse("""{"metadata":{"name":"ok","labels":{"k":"-bad"}}}""")!.AsObject())).Code);
        Assert.Equal(422, Assert.Throws<ApiException>(() => Validation.Check(ResourceTable.Namespaces, JsonNode.Parse("""{"metadata":{"name":"a.b"}}""")!.AsObject())).Code);
    }
}
