// Unit tests of the generated OpenAPI documents: every served kind has a schema with its GVK, keyed lists are marked, references resolve.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.OpenApi;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "Unit")]
public sealed class OpenApiUnitTests
{
    static IEnumerable<(string Name, JsonObject Schemas)> Documents()
    {
        foreach (var (g, v) in ResourceTable.GroupVersions)
            yield return (OpenApiDocuments.Key(g, v), OpenApiDocuments.V3(g, v)["components"]!["schemas"]!.AsObject());
        yield return ("v2", OpenApiDocuments.V2()["definitions"]!.AsObject());
    }

    [Fact]
    public void EveryServedResource_HasASchemaWithItsGvk_InItsV3DocumentAndInV2()
    {
        var v2 = OpenApiDocuments.V2()["definitions"]!.AsObject();
        foreach (var r in ResourceTable.Resources)
        {
            var v3 = OpenApiDocuments.V3(r.Group, r.Version)["components"]!["schemas"]!.AsObject();
            foreach (var schemas in new[] { v3, v2 })
            {
                var schema = schemas[TypeCatalog.For(r).FullName]!.AsObject();
                var gvks = schema["x-kubernetes-group-version-kind"]!.AsArray();
                Assert.Contains(gvks, g => g!["group"]!.GetValue<string>() == r.Group && g["version"]!.GetValue<string>() == r.Version && g["kind"]!.GetValue<string>() == r.Kind);
                Assert.NotNull(schema["description"]);
                Assert.NotNull(schemas[TypeCatalog.For(r).FullName + "List"]!["x-kubernetes-group-version-kind"]);
            }
            var paths = OpenApiDocuments.V3(r.Group, r.Version)["paths"]!.AsObject();
            var patch = paths.Select(p => p.Value!["patch"]).OfType<JsonObject>()
                .Single(op => op["x-kubernetes-group-version-kind"]!["kind"]!.GetValue<string>() == r.Kind && !op["operationId"]!.GetValue<string>().EndsWith("Status", StringComparison.Ordinal));
            var query = patch["parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();
            Assert.Contains("fieldValidation", query);
            Assert.Contains("dryRun", query);
            Assert.Contains("fieldManager", query);
            Assert.NotNull(patch["requestBody"]!["content"]!["application/strategic-merge-patch+json"]);
        }
    }

    [Fact]
    public void EveryKeyedList_HasMergeKeyStrategyAndListMapKeys()
    {
        var keyed = 0;
        foreach (var (doc, schemas) in Documents())
            foreach (var (name, schema) in schemas)
                foreach (var (field, prop) in schema!["properties"]?.AsObject() ?? [])
                {
                    var key = prop!["x-kubernetes-patch-merge-key"];
                    var listType = prop["x-kubernetes-list-type"]?.GetValue<string>();
                    if (key is null && listType != "map") continue;
                    keyed++;
                    var where = $"{doc} {name}.{field}";
                    Assert.True(key is not null, where);
                    Assert.Equal("merge", prop["x-kubernetes-patch-strategy"]?.GetValue<string>());
                    Assert.Equal("map", listType);
                    var keys = prop["x-kubernetes-list-map-keys"]!.AsArray().Select(k => k!.GetValue<string>()).ToList();
                    Assert.Equal(key!.GetValue<string>(), keys[0]);
                }
        Assert.True(keyed > 20, $"only {keyed} keyed lists");
        var container = OpenApiDocuments.V2()["definitions"]!["io.k8s.api.core.v1.Container"]!["properties"]!;
        Assert.Equal(["containerPort", "protocol"], container["ports"]!["x-kubernetes-list-map-keys"]!.AsArray().Select(k => k!.GetValue<string>()));
    }

    [Fact]
    public void EveryReference_Resolves_AndV3WrapsDescribedReferencesInAllOf()
    {
        foreach (var (doc, schemas) in Documents())
        {
            var prefix = doc == "v2" ? "#/definitions/" : "#/components/schemas/";
            foreach (var reference in Refs(schemas))
            {
                Assert.StartsWith(prefix, reference);
                Assert.True(schemas.ContainsKey(reference[prefix.Length..]), $"{doc}: {reference} does not resolve");
            }
        }
        var probe = OpenApiDocuments.V3("apps", "v1")["components"]!["schemas"]!["io.k8s.api.core.v1.Container"]!["properties"]!["livenessProbe"]!;
        Assert.Equal("#/components/schemas/io.k8s.api.core.v1.Probe", probe["allOf"]![0]!["$ref"]!.GetValue<string>());
        Assert.NotNull(probe["description"]);
        var port = OpenApiDocuments.V3("", "v1")["components"]!["schemas"]![SchemaWriter.IntOrString]!;
        Assert.True(port["x-kubernetes-int-or-string"]!.GetValue<bool>());
    }

    static IEnumerable<string> Refs(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(kv => kv.Key == "$ref" ? [kv.Value!.GetValue<string>()] : Refs(kv.Value)),
        JsonArray a => a.SelectMany(Refs),
        _ => [],
    };

    [Fact]
    public void EveryType_AndEveryFieldOnTheCommonExplainPaths_IsDescribed()
    {
        var undescribed = TypeCatalog.All.Values.Where(t => t.Description is null).Select(t => t.FullName).ToList();
        Assert.True(undescribed.Count == 0, "types without a description: " + string.Join(" ", undescribed));
        string[] walked =
        [
            "apps.v1.Deployment", "apps.v1.DeploymentSpec", "apps.v1.DeploymentStrategy", "core.v1.PodTemplateSpec", "core.v1.PodSpec",
            "core.v1.Container", "core.v1.Probe", "core.v1.HTTPGetAction", "core.v1.ExecAction", "core.v1.TCPSocketAction", "core.v1.GRPCAction",
            "core.v1.ContainerPort", "core.v1.EnvVar", "core.v1.VolumeMount", "core.v1.Volume", "core.v1.ResourceRequirements", "core.v1.Pod",
            "core.v1.Service", "core.v1.ServiceSpec", "core.v1.ServicePort", "core.v1.ConfigMap", "core.v1.Secret",
        ];
        var missing = walked.Select(n => TypeCatalog.Get("io.k8s.api." + n))
            .Append(TypeCatalog.Get(TypeCatalog.MetaPackage + ".ObjectMeta"))
            .Concat(ResourceTable.Resources.Select(TypeCatalog.For))
            .SelectMany(t => t.Fields.Where(f => f.Description is null).Select(f => $"{t.Name}.{f.Name}"))
            .Distinct().ToList();
        Assert.True(missing.Count == 0, "fields without a description: " + string.Join(" ", missing));
    }

    [Fact]
    public void RequiredFields_FollowUpstream_ForTheCommonTypes()
    {
        var v2 = OpenApiDocuments.V2()["definitions"]!;
        string[] Required(string name) => [.. v2[name]!["required"]!.AsArray().Select(n => n!.GetValue<string>())];
        Assert.Equal(["name"], Required("io.k8s.api.core.v1.Container"));
        Assert.Equal(["containerPort"], Required("io.k8s.api.core.v1.ContainerPort"));
        Assert.Equal(["containers"], Required("io.k8s.api.core.v1.PodSpec"));
        Assert.Equal(["selector", "template"], Required("io.k8s.api.apps.v1.DeploymentSpec"));
        Assert.Equal(["port"], Required("io.k8s.api.core.v1.ServicePort"));
        Assert.Null(v2["io.k8s.api.core.v1.ServiceSpec"]!["required"]);
    }

    [Fact]
    public void ProtobufEncoding_RefusesKeysItHasNoFieldFor()
    {
        var doc = OpenApiDocuments.V2();
        Assert.True(GnosticWriter.Document(doc).Length > 100_000);
        doc["definitions"]!["io.k8s.api.core.v1.Pod"]!["oneOf"] = new JsonArray();
        Assert.Contains("oneOf", Assert.Throws<InvalidOperationException>(() => GnosticWriter.Document(doc)).Message);
    }
}
