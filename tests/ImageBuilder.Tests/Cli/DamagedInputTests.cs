// Damaged inputs and out-of-range settings end in one line and exit 2, not a crash.
namespace Appliance.ImageBuilder.Tests.Cli;

public class DamagedInputTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void A_cpio_header_with_impossible_sizes_is_bad_input()
    {
        var path = Path.Combine(Path.GetTempPath(), $"damaged-{Guid.NewGuid():N}.cpio");
        try
        {
            // newc magic, then every numeric field FFFFFFFF (namesize and filesize far past the end).
            File.WriteAllText(path, "070701" + string.Concat(Enumerable.Repeat("FFFFFFFF", 13)));
            var r = CliRunner.Run("inspect", path);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("cpio header at byte 0", r.Error);
            Assert.DoesNotContain("   at ", r.Error);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void SOURCE_DATE_EPOCH_past_32_bit_times_is_bad_input()
    {
        var env = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "99999999999999999" };
        var r = CliRunner.Run(env, "sbom", "--dpkg-status", "/var/lib/dpkg/status", "-o", Path.Combine(Path.GetTempPath(), $"sbom-{Guid.NewGuid():N}.json"));
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
        var path = Path.Combine(Path.GetTempPath(), $"not-a-store-{Guid.NewGuid():N}.img");
        try
        {
            File.WriteAllText(path, "x");
            var r = CliRunner.Run("store", "ls", "--store", path);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains($"--store: {path} is a file, not a content store directory", r.Error);
            Assert.Equal("x", File.ReadAllText(path));
        }
        finally { File.Delete(path); }
    }
}
