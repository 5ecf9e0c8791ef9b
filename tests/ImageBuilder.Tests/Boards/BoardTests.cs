// The board table: every board's platform, partition table, boot target and formats, and the one format message.
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot.Arm64Rpi;
using Appliance.ImageBuilder.Boot.Arm64Uefi;
using Appliance.ImageBuilder.Boot.Armv7Rpi;
using Appliance.ImageBuilder.Boot.Armv7Virt;
using Appliance.ImageBuilder.Boot.X86_64Uefi;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Profiles;

namespace Appliance.ImageBuilder.Tests.Boards;

[Trait("Category", "Unit")]
public sealed class BoardTests
{
    [Theory]
    [InlineData("x86_64-uefi", "linux/amd64", PartitionTableKind.Gpt, typeof(X86_64UefiTarget), "raw,iso")]
    [InlineData("arm64-uefi", "linux/arm64", PartitionTableKind.Gpt, typeof(Arm64UefiTarget), "raw,iso")]
    [InlineData("arm64-rpi", "linux/arm64", PartitionTableKind.Mbr, typeof(Arm64RpiTarget), "raw")]
    [InlineData("armv7-rpi", "linux/arm/v7", PartitionTableKind.Mbr, typeof(Armv7RpiTarget), "raw")]
    [InlineData("armv7-virt", "linux/arm/v7", PartitionTableKind.Gpt, typeof(Armv7VirtTarget), "raw")]
    public void Each_board_is_described_once(string name, string platform, PartitionTableKind table, Type target, string formats)
    {
        var b = Board.Get(name);
        Assert.Same(b, Board.Find(name));
        Assert.Equal((name, platform, table, target, formats),
            (b.Name, b.Platform.ToString(), b.PartitionTable, b.BootTarget.GetType(), string.Join(",", b.Formats.Select(ImageFormats.Name))));
        Assert.NotEmpty(b.InitramfsModules);
    }

    [Fact]
    public void The_table_lists_each_board_once_in_profile_order()
    {
        Assert.Equal(["x86_64-uefi", "arm64-uefi", "arm64-rpi", "armv7-rpi", "armv7-virt"], Board.All.Select(b => b.Name));
        Assert.Equal(Board.All.Count, Board.All.Select(b => b.BootTarget).Distinct().Count());
    }

    [Fact]
    public void Unknown_board_is_refused_with_the_known_names()
    {
        Assert.Null(Board.Find("riscv64-virt"));
        var e = Assert.Throws<ArgumentException>(() => Board.Get("riscv64-virt"));
        Assert.Contains("unknown board 'riscv64-virt' (expected one of x86_64-uefi, arm64-uefi, arm64-rpi, armv7-rpi, armv7-virt)", e.Message);
    }

    [Fact]
    public void Format_problems_say_which_boards_boot_it()
    {
        Assert.All(Board.All, b => Assert.Null(b.FormatProblem(ImageFormat.Raw)));
        Assert.Equal("board arm64-rpi cannot boot format iso; iso needs one of x86_64-uefi, arm64-uefi", Board.Arm64Rpi.FormatProblem(ImageFormat.Iso));
        Assert.Equal("board armv7-rpi cannot boot format iso; iso needs one of x86_64-uefi, arm64-uefi", Board.Armv7Rpi.FormatProblem(ImageFormat.Iso));
        Assert.Equal("board armv7-virt cannot boot format iso; iso needs one of x86_64-uefi, arm64-uefi", Board.Armv7Virt.FormatProblem(ImageFormat.Iso));
        Assert.Null(Board.X86_64Uefi.FormatProblem(ImageFormat.Iso));
        Assert.Null(Board.Arm64Uefi.FormatProblem(ImageFormat.Iso));
        // Only the PC's ISO boots BIOS firmware too.
        Assert.Equal(["x86_64-uefi"], Board.All.Where(b => b.IsoBiosBoot).Select(b => b.Name));
    }

    /// <summary>`build` refuses an iso profile for a board that cannot boot it with the same line `profile validate` prints, before it opens the store.</summary>
    [Fact]
    public void Build_and_validate_refuse_iso_on_a_pi_with_the_same_message()
    {
        var profile = Path.Combine(ProfileTestFiles.MalformedDir, "iso-on-pi.yaml");
        var expected = $"{profile}:7:11: target.format: {Board.Arm64Rpi.FormatProblem(ImageFormat.Iso)}";
        var validate = CliRunner.Run("profile", "validate", profile);
        Assert.Equal(2, validate.ExitCode);
        Assert.Contains(expected, validate.Error.Split('\n'));
        using var dir = new TempDir();
        var build = CliRunner.Run("build", profile, "-o", dir.Path, "--store", Path.Combine(dir.Path, "store"));
        Assert.Equal(2, build.ExitCode);
        Assert.Contains(expected, build.Error.Split('\n'));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Store_export_takes_the_platform_from_the_board()
    {
        var r = CliRunner.Run("store", "export", "--store", "/nonexistent-store", "--board", "riscv64-virt", "x:1", "-o", "/nonexistent-store/x.tar");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown board 'riscv64-virt'", r.Error);
    }
}
