// Unit tests of the type table and the schema check: coverage of the served kinds, reuse, the value forms, the depth limit.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Schema;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "Unit")]
public sealed class SchemaUnitTests
{
    [Fact]
    public void EveryServedResource_HasATopLevelType_WithTypeMetaAndObjectMeta()
    {
        var objectMeta = TypeCatalog.Get(TypeCatalog.MetaPackage + ".ObjectMeta");
        foreach (var r in ResourceTable.Resources)
        {
            var t = TypeCatalog.For(r);
            Assert.Equal(r.Kind, t.Name);
            Assert.Equal(ValueKind.String, t.Field("kind")!.Type.Kind);
            Assert.Same(objectMeta, t.Field("metadata")!.Type.Type);
        }
    }

    [Fact]
    public void NestedTypes_AreShared_AndCarryMergeKeysAndFormats()
    {
        var pod = TypeCatalog.Get("io.k8s.api.core.v1.PodSpec");
        var deployment = TypeCatalog.Get("io.k8s.api.apps.v1.DeploymentSpec");
        Assert.Same(pod, deployment.Field("template")!.Type.Type!.Field("spec")!.Type.Type);
        var containers = pod.Field("containers")!;
        Assert.Equal("name", containers.MergeKey);
        Assert.Equal("io.k8s.api.core.v1.Container", containers.Type.Element!.Type!.FullName);
        Assert.Equal("containerPort", containers.Type.Element.Type.Field("ports")!.MergeKey);
        Assert.Equal("int32", TypeCatalog.Get("io.k8s.api.core.v1.ContainerPort").Field("containerPort")!.Type.Format);
        Assert.Equal("", TypeCatalog.Get(TypeCatalog.MetaPackage + ".ObjectMeta").Field("finalizers")!.MergeKey);
        // An inlined type brings its fields: EphemeralContainer is a Container plus targetContainerName.
        var ephemeral = TypeCatalog.Get("io.k8s.api.core.v1.EphemeralContainer");
        Assert.NotNull(ephemeral.Field("image"));
        Assert.NotNull(ephemeral.Field("targetContainerName"));
        // The discovery EndpointPort is its own definition, not core's.
        Assert.Equal("io.k8s.api.discovery.v1.EndpointPort", TypeCatalog.Get("io.k8s.api.discovery.v1.EndpointSlice").Field("ports")!.Type.Element!.Type!.FullName);
    }

    static List<SchemaProblem> Check(string kind, string json) =>
        SchemaValidator.Check(TypeCatalog.For(ResourceTable.Resources.Single(r => r.Kind == kind)), JsonNode.Parse(json)!.AsObject());

    [Theory]
    [InlineData("""{"spec":{"ports":[{"port":80,"targetPort":"http"}]}}""")]
    [InlineData("""{"spec":{"ports":[{"port":80,"targetPort":8080}]}}""")]
    [InlineData("""{"spec":{"ports":null,"selector":{"a":"b"}},"unknown":{"x":[1]}}""")]
    public void Service_ValidForms_HaveNoProblems(string json) => Assert.Empty(Check("Service", json));

    [Theory]
    [InlineData("""{"spec":{"ports":[{"port":"80"}]}}""", "spec.ports[0].port", "Invalid value: \"string\": spec.ports[0].port in body must be of type integer: \"string\"")]
    [InlineData("""{"spec":{"ports":[{"port":1.5}]}}""", "spec.ports[0].port", "Invalid value: \"number\": spec.ports[0].port in body must be of type integer: \"number\"")]
    [InlineData("""{"spec":{"ports":[{"port":4294967296}]}}""", "spec.ports[0].port", "Invalid value: 4294967296: spec.ports[0].port in body must be a 32-bit integer")]
    [InlineData("""{"spec":{"ports":[{"targetPort":true}]}}""", "spec.ports[0].targetPort", "Invalid value: \"boolean\": spec.ports[0].targetPort in body must be of type integer,string: \"boolean\"")]
    [InlineData("""{"spec":{"selector":{"a":1}}}""", "spec.selector.a", "Invalid value: \"integer\": spec.selector.a in body must be of type string: \"integer\"")]
    [InlineData("""{"metadata":{"labels":"a"}}""", "metadata.labels", "Invalid value: \"string\": metadata.labels in body must be of type object: \"string\"")]
    public void Service_WrongForms_AreReportedWithPath(string json, string field, string message)
    {
        var p = Assert.Single(Check("Service", json));
        Assert.Equal(field, p.Field);
        Assert.Equal(message, p.Message);
    }

    [Theory]
    [InlineData("100m", true)]
    [InlineData("1Gi", true)]
    [InlineData("1.5", true)]
    [InlineData("2e3", true)]
    [InlineData("lots", false)]
    [InlineData("1 Gi", false)]
    public void Quantities_FollowUpstreamSyntax(string quantity, bool ok)
    {
        var json = """{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"QUANTITY"}}}]}}""".Replace("QUANTITY", quantity);
        Assert.Equal(ok, Check("Pod", json).Count == 0);
    }

    [Fact]
    public void AllProblems_AreReported_UpToTheCap()
    {
        var problems = Check("Pod", """{"metadata":{"name":1,"labels":"a"},"spec":{"containers":[1,2]},"status":{"phase":[]}}""");
        Assert.Equal(["metadata.name", "metadata.labels", "spec.containers[0]", "spec.containers[1]", "status.phase"], problems.Select(p => p.Field));
    }

    [Fact]
    public void DepthLimit_AllowsWhatStoresAndReadsBack_RefusesOneMore()
    {
        JsonObject Nested(int depth)
        {
            // The top-level object counts 1; "extra" and each level below it one more.
            JsonNode n = "leaf";
            for (int i = 0; i < depth - 1; i++) n = new JsonObject { ["a"] = n };
            return new JsonObject { ["kind"] = "ConfigMap", ["extra"] = n };
        }
        var deepest = Nested(SchemaValidator.MaxDepth);
        Assert.Empty(Check("ConfigMap", deepest.ToJsonString()));
        var bytes = Meta.ToBytes(deepest);
        Assert.NotNull(JsonNode.Parse(bytes));
        var tooDeep = Nested(SchemaValidator.MaxDepth + 1);
        var p = Assert.Single(SchemaValidator.Check(TypeCatalog.For(ResourceTable.Resources.Single(r => r.Kind == "ConfigMap")), tooDeep));
        Assert.Contains("nests deeper than the limit of 64 levels", p.Message);
    }
}
