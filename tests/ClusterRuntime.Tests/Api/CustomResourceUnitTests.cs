// Unit tests of the CRD pieces: structural schema (prune, default, validate, rules), JSONPath subset, version order, naming.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.CustomResources;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "Unit")]
public sealed class CustomResourceUnitTests
{
    static JsonObject O(string json) => JsonNode.Parse(json)!.AsObject();

    static readonly JsonObject Schema = O("""
        {"type":"object","properties":{
          "spec":{"type":"object","required":["size"],"properties":{
            "size":{"type":"integer","minimum":1,"maximum":10},
            "color":{"type":"string","enum":["red","green"],"default":"green"},
            "name":{"type":"string","pattern":"^[a-z]+$","minLength":2,"maxLength":5},
            "tags":{"type":"array","maxItems":2,"items":{"type":"string"}},
            "port":{"x-kubernetes-int-or-string":true},
            "note":{"type":"string","nullable":true},
            "limits":{"type":"object","additionalProperties":{"type":"integer"}},
            "nested":{"type":"object","default":{},"properties":{"depth":{"type":"integer","default":3}}},
            "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
            "template":{"type":"object","x-kubernetes-embedded-resource":true,"properties":{"spec":{"type":"object"}}}}}}}
        """);

    [Fact]
    public void Prune_RemovesUndeclaredFields_KeepsPreservedAndEmbeddedTypeMeta()
    {
        var obj = O("""
            {"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"a","whatever":1},"junk":1,
             "spec":{"size":1,"bogus":2,"free":{"any":{"thing":1}},"limits":{"cpu":1},
                     "template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{},"extra":1}}}
            """);
        var pruned = StructuralSchema.Prune(Schema, obj);
        Assert.Equal(["junk", "spec.bogus", "spec.template.extra"], pruned.Order());
        Assert.Equal(1, obj["spec"]!["free"]!["any"]!["thing"]!.GetValue<int>());
        Assert.Equal("Pod", obj["spec"]!["template"]!["kind"]!.GetValue<string>());
        Assert.Equal(1, obj["metadata"]!["whatever"]!.GetValue<int>());
        Assert.Equal(1, obj["spec"]!["limits"]!["cpu"]!.GetValue<int>());
    }

    [Fact]
    public void Default_FillsAbsentFields_Nested_AndNullsThatAreNotNullable()
    {
        var obj = O("""{"spec":{"size":1,"color":null}}""");
        StructuralSchema.Prune(Schema, obj);
        StructuralSchema.Default(Schema, obj);
        Assert.Equal("green", obj["spec"]!["color"]!.GetValue<string>());
        Assert.Equal(3, obj["spec"]!["nested"]!["depth"]!.GetValue<int>());
        Assert.Empty(StructuralSchema.Validate(Schema, obj));
    }

    [Theory]
    [InlineData("""{"spec":{"size":"big"}}""", "spec.size", "Invalid value: \"string\": spec.size in body must be of type integer: \"string\"")]
    [InlineData("""{"spec":{}}""", "spec.size", "Required value")]
    [InlineData("""{"spec":{"size":0}}""", "spec.size", "Invalid value: 0: spec.size in body should be greater than or equal to 1")]
    [InlineData("""{"spec":{"size":11}}""", "spec.size", "Invalid value: 11: spec.size in body should be less than or equal to 10")]
    [InlineData("""{"spec":{"size":1,"color":"pink"}}""", "spec.color", "Unsupported value: \"pink\": supported values: \"red\", \"green\"")]
    [InlineData("""{"spec":{"size":1,"name":"ABC"}}""", "spec.name", "Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'")]
    [InlineData("""{"spec":{"size":1,"name":"a"}}""", "spec.name", "Invalid value: \"a\": spec.name in body should be at least 2 chars long")]
    [InlineData("""{"spec":{"size":1,"name":"abcdef"}}""", "spec.name", "Too long: may not be more than 5 bytes")]
    [InlineData("""{"spec":{"size":1,"tags":["a","b","c"]}}""", "spec.tags", "Too many: 3: must have at most 2 items")]
    [InlineData("""{"spec":{"size":1,"tags":[1]}}""", "spec.tags[0]", "Invalid value: \"integer\": spec.tags[0] in body must be of type string: \"integer\"")]
    [InlineData("""{"spec":{"size":1,"port":true}}""", "spec.port", "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"")]
    [InlineData("""{"spec":{"size":1,"limits":{"cpu":"x"}}}""", "spec.limits.cpu", "Invalid value: \"string\": spec.limits.cpu in body must be of type integer: \"string\"")]
    [InlineData("""{"spec":{"size":1,"template":{"spec":{}}}}""", "spec.template.apiVersion", "Required value: must not be empty")]
    public void Validate_ReportsTheFieldInUpstreamsWords(string json, string field, string message)
    {
        var problems = StructuralSchema.Validate(Schema, O(json));
        Assert.Contains(problems, p => p.Field == field && p.Message == message);
    }

    [Theory]
    [InlineData("""{"spec":{"size":1,"port":80,"note":null}}""")]
    [InlineData("""{"spec":{"size":1,"port":"http"}}""")]
    public void Validate_AcceptsValidForms(string json) => Assert.Empty(StructuralSchema.Validate(Schema, O(json)));

    [Theory]
    [InlineData("""{"type":"object","properties":{"spec":{"properties":{}}}}""", "s.properties[spec].type", "Required value: must not be empty for specified object fields")]
    [InlineData("""{"properties":{}}""", "s.type", "Required value: must not be empty at the root")]
    [InlineData("""{"type":"string"}""", "s.type", "Invalid value: \"string\": must be object at the root")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"object","properties":{},"additionalProperties":{"type":"string"}}}}""", "s.properties[a].additionalProperties", "Forbidden: additionalProperties and properties are mutual exclusive")]
    [InlineData("""{"type":"object","properties":{"metadata":{"type":"object","properties":{"labels":{"type":"object"}}}}}""", "s.properties[metadata]", "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer","default":"x"}}}""", "s.properties[a].default", "Invalid value: \"string\": <default> in body must be of type integer: \"string\"")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"array"}}}""", "s.properties[a].items", "Required value: must be specified")]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"#/x"}}}""", "s.properties[a].$ref", "Forbidden: $ref is not supported")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}""", "s.properties[a].pattern", null)]
    public void NonStructuralSchemas_AreRefused(string json, string field, string? message)
    {
        var problems = StructuralSchema.Problems(O(json), "s");
        Assert.Contains(problems, p => p.Field == field && (message is null || p.Message == message));
    }

    [Fact]
    public void StructuralSchema_WithPreserveAndIntOrString_HasNoProblems() =>
        Assert.Empty(StructuralSchema.Problems(Schema, "s"));

    [Fact]
    public void JsonPath_ReadsAndWritesTheSubset_RefusesTheRest()
    {
        var obj = O("""{"spec":{"list":[{"a":1},{"a":2}]}}""");
        Assert.Equal(2, JsonPath.Parse(".spec.list[1].a")!.Get(obj)!.GetValue<int>());
        Assert.Equal(1, JsonPath.Parse("{.spec.list[0].a}")!.Get(obj)!.GetValue<int>());
        Assert.Null(JsonPath.Parse(".spec.missing.x")!.Get(obj));
        Assert.True(JsonPath.Parse(".spec.new.replicas")!.Set(obj, 4));
        Assert.Equal(4, obj["spec"]!["new"]!["replicas"]!.GetValue<int>());
        foreach (var bad in new[] { "spec.x", ".spec[*]", "..x", ".spec.list[?(@.a==1)]", "" }) Assert.Null(JsonPath.Parse(bad));
    }

    [Fact]
    public void VersionPriority_OrdersAsKubernetes()
    {
        string[] versions = ["v1alpha1", "foo", "v1beta1", "v2", "v1", "v1beta2", "v10", "bar"];
        Assert.Equal(["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo"], versions.Order(VersionPriority.Instance));
    }

    static JsonObject CrdObject(string plural, string kind, string created, string shortName) => O("""
        {"metadata":{"name":"PLURAL.x.io","creationTimestamp":"CREATED"},
         "spec":{"group":"x.io","scope":"Namespaced","names":{"plural":"PLURAL","singular":"SINGULAR","kind":"KIND","shortNames":["SHORT"]},
                 "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}
        """.Replace("PLURAL", plural).Replace("SINGULAR", plural.TrimEnd('s')).Replace("KIND", kind).Replace("CREATED", created).Replace("SHORT", shortName));

    [Fact]
    public void Naming_TheOlderCrdKeepsItsNames_TheOtherGetsTheConflictReason()
    {
        var results = CrdNaming.Decide([CrdObject("bees", "Widget", "2026-01-02T00:00:00Z", "b"), CrdObject("widgets", "Widget", "2026-01-01T00:00:00Z", "w"),
            CrdObject("cogs", "Cog", "2026-01-03T00:00:00Z", "w")]);
        Assert.True(results.Single(r => r.Crd.Name == "widgets.x.io").Accepted);
        var bees = results.Single(r => r.Crd.Name == "bees.x.io");
        Assert.Equal(("KindConflict", "\"Widget\" is already in use"), (bees.ConflictReason, bees.ConflictMessage));
        Assert.Equal("ShortNamesConflict", results.Single(r => r.Crd.Name == "cogs.x.io").ConflictReason);
        var status = CrdNaming.Status(bees, null, "2026-01-04T00:00:00Z", null);
        Assert.Equal("False", status["conditions"]![0]!["status"]!.GetValue<string>());
        Assert.Equal("NotAccepted", status["conditions"]![1]!["reason"]!.GetValue<string>());
        Assert.Equal(["v1"], status["storedVersions"]!.AsArray().Select(v => v!.GetValue<string>()));
    }
}
