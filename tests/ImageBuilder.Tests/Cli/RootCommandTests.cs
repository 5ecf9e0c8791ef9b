// The root command: version, help, and exit codes for bad usage.
namespace Appliance.ImageBuilder.Tests.Cli;

public class RootCommandTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void Version_includes_the_git_commit()
    {
        var r = CliRunner.Run("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+\+[0-9a-f]{7,}", r.Out.Trim());
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Unknown_option_is_bad_usage_with_exit_2()
    {
        var r = CliRunner.Run("--no-such-option");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--no-such-option", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
    }
}
