// Every file under Malformed/ is run through `appliance profile validate`; its "# expect:" lines are the exact output.
using System.Text.Json;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Profiles;

public class MalformedProfileTests
{
    private const string ExpectPrefix = "# expect: ";

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(ProfileTestFiles.MalformedDir, "*.yaml").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    /// <summary>The exact problem lines a fixture declares, with paths filled in.</summary>
    private static List<string> Expected(string path)
    {
        var dir = Path.GetDirectoryName(path)!;
        return File.ReadAllLines(path)
            .Where(l => l.StartsWith(ExpectPrefix, StringComparison.Ordinal))
            .Select(l => l[ExpectPrefix.Length..].Replace("{dir}", dir))
            .Select(l => l.StartsWith('@') ? Path.Combine(dir, l[1..]) : $"{path}:{l}")
            .ToList();
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void There_are_at_least_25_malformed_cases_and_each_declares_its_problems()
    {
        var cases = Cases().Select(c => (string)c.Data).ToList();
        Assert.True(cases.Count >= 25, $"only {cases.Count} malformed cases");
        foreach (var c in cases)
            Assert.NotEmpty(Expected(Path.Combine(ProfileTestFiles.MalformedDir, c)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    [Trait("Category", "Unit")]
    public void Validate_reports_exactly_the_expected_problems_with_exit_2(string name)
    {
        var path = Path.Combine(ProfileTestFiles.MalformedDir, name);
        var expected = Expected(path);
        var r = CliRunner.Run("profile", "validate", path);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Out);
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected, lines[..^1]);
        Assert.Equal($"appliance: {expected.Count} problem(s) in 1 of 1 profile(s)", lines[^1]);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    [Trait("Category", "Unit")]
    public void Json_output_lists_the_same_problems(string name)
    {
        var path = Path.Combine(ProfileTestFiles.MalformedDir, name);
        var expected = Expected(path);
        var r = CliRunner.Run("profile", "validate", "--output", "json", path);

        Assert.Equal(2, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.False(doc.RootElement.GetProperty("valid").GetBoolean());
        var profile = Assert.Single(doc.RootElement.GetProperty("profiles").EnumerateArray());
        Assert.Equal(path, profile.GetProperty("file").GetString());
        var actual = profile.GetProperty("problems").EnumerateArray()
            .Select(p => $"{p.GetProperty("file").GetString()}:{p.GetProperty("line").GetInt32()}:{p.GetProperty("column").GetInt32()}: "
                + $"{p.GetProperty("path").GetString()}: {p.GetProperty("message").GetString()}")
            .ToList();
        Assert.Equal(expected, actual);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Problems_of_several_files_are_all_reported()
    {
        var a = Path.Combine(ProfileTestFiles.MalformedDir, "short-token.yaml");
        var b = Path.Combine(ProfileTestFiles.MalformedDir, "bad-url.yaml");
        var good = Path.Combine(ProfileTestFiles.SitesDir, "demo-x86.yaml");
        var r = CliRunner.Run("profile", "validate", a, good, b);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"{good}: valid\n", r.Out.Replace("\r", ""));
        Assert.Equal(Expected(a).Concat(Expected(b)).Append("appliance: 2 problem(s) in 2 of 3 profile(s)"),
            r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void A_missing_profile_file_is_bad_input_without_a_stack_trace()
    {
        var missing = Path.Combine(ProfileTestFiles.MalformedDir, "does-not-exist.yaml");
        var r = CliRunner.Run("profile", "validate", missing);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"{missing}: profile file not found\n", r.Error.Replace("\r", ""));
        Assert.DoesNotContain("   at ", r.Error);
    }
}
