// The emitted schema, checked by an independent validator (JsonSchema.Net): examples pass, schema-level mistakes fail.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Profiles.Yaml;
using Appliance.ImageBuilder.Tests.Cli;
using Json.Schema;

namespace Appliance.ImageBuilder.Tests.Profiles;

public class SchemaValidationTests
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
    {
        var r = CliRunner.Run("profile", "schema");
        Assert.Equal(0, r.ExitCode);
        return JsonSchema.FromText(r.Out);
    });

    /// <summary>A profile file as the JSON an editor's YAML plugin would check: plain true/false are booleans, all else text.</summary>
    private static JsonElement AsJson(string path)
    {
        var problems = new List<ProfileProblem>();
        var tree = YamlTreeReader.Read(File.ReadAllText(path), path, problems);
        Assert.Empty(problems);
        return JsonDocument.Parse(ToNode(tree!)?.ToJsonString() ?? "null").RootElement.Clone();
    }

    private static JsonNode? ToNode(YNode node) => node switch
    {
        YMapping m => new JsonObject(m.Entries.Select(e => KeyValuePair.Create(e.Key.Value, ToNode(e.Value)))),
        YSequence s => new JsonArray(s.Items.Select(ToNode).ToArray()),
        YScalar { IsNull: true } => null,
        YScalar { IsPlain: true, Value: "true" } => JsonValue.Create(true),
        YScalar { IsPlain: true, Value: "false" } => JsonValue.Create(false),
        YScalar s => JsonValue.Create(s.Value),
        _ => throw new InvalidOperationException(),
    };

    private static EvaluationResults Evaluate(string path) =>
        Schema.Value.Evaluate(AsJson(path), new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(ProfileTestFiles.RepoRoot, "profiles"), "*.yaml", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/manifests/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(ProfileTestFiles.RepoRoot, f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    [Trait("Category", "External")]
    public void Example_profiles_satisfy_the_schema(string relative)
    {
        var r = Evaluate(Path.Combine(ProfileTestFiles.RepoRoot, relative));
        Assert.True(r.IsValid, string.Join("\n", (r.Details ?? []).Where(d => d.Errors is not null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))));
    }

    [Theory]
    [InlineData("unknown-field.yaml")]
    [InlineData("unknown-top-level-field.yaml")]
    [InlineData("unknown-board.yaml")]
    [InlineData("iso-on-pi.yaml")]
    [InlineData("iso-on-armv7-virt.yaml")]
    [InlineData("runtime-both.yaml")]
    [InlineData("agent-without-server.yaml")]
    [InlineData("wrong-type-bool.yaml")]
    [InlineData("wrong-type-list.yaml")]
    [InlineData("wrong-type-mapping.yaml")]
    [InlineData("token-and-token-file.yaml")]
    [InlineData("short-token.yaml")]
    [InlineData("bad-url.yaml")]
    [InlineData("bad-static-ips.yaml")]
    [InlineData("wrong-api-version.yaml")]
    [InlineData("taint-without-effect.yaml")]
    [Trait("Category", "External")]
    public void Mistakes_the_schema_can_express_are_rejected_by_it(string fixture)
    {
        var r = Evaluate(Path.Combine(ProfileTestFiles.MalformedDir, fixture));
        Assert.False(r.IsValid);
    }
}
