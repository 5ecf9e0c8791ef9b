// `appliance profile schema`: a draft 2020-12 JSON Schema that names every model field.
using System.Text.Json;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Yaml;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Profiles;

public class SchemaTests
{
    private static JsonElement Schema()
    {
        var r = CliRunner.Run("profile", "schema");
        Assert.Equal(0, r.ExitCode);
        return JsonDocument.Parse(r.Out).RootElement.Clone();
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Schema_is_draft_2020_12_json()
    {
        var s = Schema();
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", s.GetProperty("$schema").GetString());
        Assert.Equal("object", s.GetProperty("type").GetString());
        Assert.False(s.GetProperty("additionalProperties").GetBoolean());
        var board = s.GetProperty("properties").GetProperty("target").GetProperty("properties").GetProperty("board");
        Assert.Equal(["x86_64-uefi", "arm64-uefi", "arm64-rpi", "armv7-rpi", "armv7-virt"],
            board.GetProperty("anyOf")[0].GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void The_committed_schema_file_matches_the_generated_one()
    {
        // Regenerate with: appliance profile schema > profiles/site-profile.schema.json
        var committed = File.ReadAllText(Path.Combine(ProfileTestFiles.RepoRoot, "profiles", "site-profile.schema.json"));
        Assert.Equal(CliRunner.Run("profile", "schema").Out, committed);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Every_model_field_is_in_the_schema()
    {
        var s = Schema();
        int count = 0;
        void Walk(Type type, JsonElement node, string path)
        {
            var props = node.GetProperty("properties");
            foreach (var prop in type.GetProperties())
            {
                var field = prop.GetCustomAttributes(typeof(ProfileFieldAttribute), false).Cast<ProfileFieldAttribute>().SingleOrDefault();
                if (field is null) continue;
                Assert.True(props.TryGetProperty(field.Name, out var child), $"{path}{field.Name} is missing from the schema");
                Assert.False(string.IsNullOrEmpty(child.GetProperty("description").GetString()), $"{path}{field.Name} has no description");
                count++;
                var t = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
                if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>))
                {
                    t = t.GetGenericArguments()[0];
                    child = child.GetProperty("items");
                }
                if (t.IsClass && t.Namespace == typeof(SiteProfile).Namespace && t != typeof(ProfilePath)
                    && t != typeof(Cidr) && t != typeof(InterfaceAddress))
                    Walk(t, child, path + field.Name + ".");
            }
        }
        Walk(typeof(SiteProfile), s, "");
        Assert.True(count > 40, $"only {count} fields walked");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Every_key_of_every_example_profile_is_known_to_the_schema()
    {
        var s = Schema();
        var files = Directory.GetFiles(Path.Combine(ProfileTestFiles.RepoRoot, "profiles"), "*.yaml", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/manifests/", StringComparison.Ordinal)).ToList();
        Assert.True(files.Count >= 5);
        foreach (var f in files)
        {
            var problems = new List<Appliance.ImageBuilder.Profiles.ProfileProblem>();
            var tree = YamlTreeReader.Read(File.ReadAllText(f), f, problems);
            Assert.Empty(problems);
            Check(tree!, s, f);
        }

        static void Check(YNode node, JsonElement schema, string where)
        {
            if (node is YMapping map && schema.TryGetProperty("properties", out var props))
                foreach (var (k, v) in map.Entries)
                {
                    Assert.True(props.TryGetProperty(k.Value, out var sub), $"{k.Mark}: '{k.Value}' is not in the schema");
                    Check(v, sub, where);
                }
            else if (node is YSequence seq && schema.TryGetProperty("items", out var items))
                foreach (var item in seq.Items)
                    Check(item, items, where);
        }
    }
}
