// Unit tests of field sets and the apply merge: FieldsV1 round trips, upstream's path words, list maps, sets, removal, duplicate keys.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Apply;
using Appliance.ClusterRuntime.Api.Schema;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "Unit")]
public sealed class ApplyUnitTests
{
    static readonly TypeDef Deployment = TypeCatalog.Get("io.k8s.api.apps.v1.Deployment");

    static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void FieldsV1_RoundTrips_WithDotForNodesThatAreMembersAndParents()
    {
        const string fields = """{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{}}}}}""";
        var set = FieldSet.FromFieldsV1(JsonNode.Parse(fields));
        Assert.Equal(fields, set.ToFieldsV1().ToJsonString(Meta.Json));
        Assert.True(set.Contains(["f:metadata", "f:labels"]));
        Assert.False(set.Contains(["f:metadata"]));
        Assert.Throws<InvalidDataException>(() => FieldSet.FromFieldsV1(JsonNode.Parse("""{"x:bad":{}}""")));
    }

    [Fact]
    public void Describe_WordsPathsAsUpstreamConflicts()
    {
        Assert.Equal(".spec.replicas", FieldSet.Describe(["f:spec", "f:replicas"]));
        Assert.Equal(".spec.containers[name=\"app\"].image", FieldSet.Describe(["f:spec", "f:containers", "k:{\"name\":\"app\"}", "f:image"]));
        Assert.Equal(".metadata.finalizers[=\"x\"]", FieldSet.Describe(["f:metadata", "f:finalizers", "v:\"x\""]));
    }

    [Fact]
    public void SetOfAnObject_KeysListMapsByTheirKeys_SetsByValue_AtomicListsAndSelectorsAsLeaves()
    {
        var obj = Obj("""
            {"metadata":{"labels":{"app":"a"},"finalizers":["x"]},
             "spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"containers":[{"name":"c","args":["1"],"ports":[{"containerPort":80}]}]}}}}
            """);
        var set = ObjectFields.Of(obj, Deployment, withMaps: false);
        var c = new List<string> { "f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"c\"}" };
        Assert.True(set.Contains(c));
        Assert.True(set.Contains([.. c, "f:name"]));
        Assert.True(set.Contains([.. c, "f:args"]));
        Assert.True(set.Contains([.. c, "f:ports", "k:{\"containerPort\":80,\"protocol\":\"TCP\"}", "f:containerPort"]));
        Assert.True(set.Contains(["f:spec", "f:selector"]));
        Assert.False(set.ContainsAtOrBelow(["f:spec", "f:selector", "f:matchLabels"]));
        Assert.True(set.Contains(["f:metadata", "f:finalizers", "v:\"x\""]));
        Assert.False(set.Contains(["f:metadata", "f:labels"]));
        Assert.True(ObjectFields.Of(obj, Deployment, withMaps: true).Contains(["f:metadata", "f:labels"]));
    }

    [Fact]
    public void Merge_MergesListMapsByKey_SetsByValue_ReplacesAtomicLists_AndRemoveDropsEmptiedMaps()
    {
        var live = Obj("""{"metadata":{"labels":{"a":"1"},"finalizers":["x"]},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i1","args":["1","2"]},{"name":"d","image":"j"}]}}}}""");
        var cfg = Obj("""{"metadata":{"labels":{"b":"2"},"finalizers":["y"]},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i2","args":["3"]},{"name":"e","image":"k"}]}}}}""");
        var merged = ObjectFields.Merge(live, cfg, Deployment);
        Assert.Equal("""{"a":"1","b":"2"}""", merged["metadata"]!["labels"]!.ToJsonString());
        Assert.Equal("""["x","y"]""", merged["metadata"]!["finalizers"]!.ToJsonString());
        Assert.Equal("""[{"name":"c","image":"i2","args":["3"]},{"name":"d","image":"j"},{"name":"e","image":"k"}]""",
            merged["spec"]!["template"]!["spec"]!["containers"]!.ToJsonString());

        ObjectFields.Remove(merged, ["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"d\"}"]);
        ObjectFields.Remove(merged, ["f:metadata", "f:labels", "f:a"]);
        ObjectFields.Remove(merged, ["f:metadata", "f:labels", "f:b"]);
        Assert.Null(merged["metadata"]!["labels"]);
        Assert.Equal(2, merged["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Count);
    }

    [Fact]
    public void DuplicateKeys_AreFoundWithTheirPaths_AndTheLastOneWins()
    {
        var body = Encoding.UTF8.GetBytes("""{"a":{"b":[{"c":1,"c":2}],"d":"x","d":"y"}}""");
        Assert.Equal(["a.b[0].c", "a.d"], Meta.DuplicateKeys(body).Select(d => d.Path));
        var dups = new List<string>();
        var obj = Meta.ParseObject(body, "body", dups);
        Assert.Equal("""{"a":{"b":[{"c":2}],"d":"y"}}""", obj.ToJsonString());
        var e = Assert.Throws<ApiException>(() => Meta.ParseObject(body, "body"));
        Assert.Equal(400, e.Code);
    }

    [Fact]
    public void PruneUnknown_DropsUndeclaredFieldsAtAnyDepth_KeepsPatchDirectives()
    {
        var obj = Obj("""{"spec":{"replicass":1,"template":{"spec":{"containers":[{"name":"c","imagee":"x"}]}},"$retainKeys":["a"]},"extra":{}}""");
        var unknown = SchemaValidator.PruneUnknown(Deployment, obj, patch: true);
        Assert.Equal(["spec.replicass", "spec.template.spec.containers[0].imagee", "extra"], unknown);
        Assert.Equal("""{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}},"$retainKeys":["a"]}}""", obj.ToJsonString());
    }
}
