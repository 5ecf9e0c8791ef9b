// Damaged inputs and out-of-range settings end in one line and exit 2, not a crash.
namespace Appliance.ImageBuilder.Tests.Cli;

public class DamagedInputTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void A_cpio_header_with_impossible_sizes_is_bad_input()
    {
        using var dir = new TempDir("damaged-");
        var path = dir["damaged.cpio"];
        // newc magic, then every numeric field FFFFFFFF (namesize and filesize far past the end).
        File.WriteAllText(path, "070701" + string.Concat(Enumerable.Repeat("FFFFFFFF", 13)));
        var r = CliRunner.Run("inspect", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("cpio header at byte 0", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void SOURCE_DATE_EPOCH_past_32_bit_times_is_bad_input()
    {
        var env = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "99999999999999999" };
        using var dir = new TempDir("sbom-");
        var r = CliRunner.Run(env, "sbom", "--dpkg-status", "/var/lib/dpkg/status", "-o", dir["sbom.json"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("SOURCE_DATE_EPOCH: 99999999999999999 is out of range", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
    }
}

public class StoreLocationInputTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void A_store_path_that_is_a_file_is_bad_input()
    {
        using var dir = new TempDir("not-a-store-");
        var path = dir["store.img"];
        File.WriteAllText(path, "x");
        var r = CliRunner.Run("store", "ls", "--store", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"--store: {path} is a file, not a content store directory", r.Error);
        Assert.Equal("x", File.ReadAllText(path));
    }
}
