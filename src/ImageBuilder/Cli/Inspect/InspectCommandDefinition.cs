// The `appliance inspect` verb: its arguments and options.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Inspect;

/// <summary>Defines <c>appliance inspect IMAGE [--partition N] [--list]</c>.</summary>
public static class InspectCommandDefinition
{
    /// <summary>The image file.</summary>
    public static readonly Argument<FileInfo> Image = new("image") { Description = "A disk image, SquashFS, FAT32 or cpio file" };

    /// <summary>Which partition to list.</summary>
    public static readonly Option<int?> Partition = new("--partition", "-p") { Description = "Partition number (1-based) to list with --list" };

    /// <summary>List every entry.</summary>
    public static readonly Option<bool> List = new("--list", "-l") { Description = "List every entry of the file system" };

    /// <summary>Creates the command.</summary>
    public static Command Create(CliContext ctx)
    {
        var cmd = new Command("inspect", "Show the partition table and file systems of an image, or list a file system");
        cmd.Arguments.Add(Image);
        cmd.Options.Add(Partition);
        cmd.Options.Add(List);
        cmd.Options.Add(GlobalOptions.Output);
        cmd.SetAction(parse => new InspectCommand(ctx).Run(parse.GetValue(Image)!, parse.GetValue(Partition), parse.GetValue(List), parse.GetValue(GlobalOptions.Output)));
        return cmd;
    }
}
