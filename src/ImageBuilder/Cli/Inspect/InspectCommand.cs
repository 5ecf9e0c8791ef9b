// The logic of `appliance inspect`: read an image with the Disk readers and print a report or a listing.
using System.Text.Json;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Cli.Inspect;

/// <summary>Prints what an image holds.</summary>
public sealed class InspectCommand(CliContext ctx)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Runs the command; returns the exit code.</summary>
    public int Run(FileInfo image, int? partition, bool list, OutputFormat output)
    {
        if (!image.Exists) throw new UserInputException($"{image.FullName}: no such file");
        using var s = image.OpenRead();
        try
        {
            if (list) return PrintList(ImageInspector.ReadTree(s, partition), output);
            var report = ImageInspector.Inspect(s);
            if (output == OutputFormat.Json) { ctx.Out.WriteLine(JsonSerializer.Serialize(report, Json)); return ExitCodes.Ok; }
            ctx.Out.WriteLine($"{image.Name}: {report.Kind}, {report.Size} bytes{(report.DiskId is null ? "" : ", id " + report.DiskId)}");
            foreach (var p in report.Partitions)
                ctx.Out.WriteLine($"  {p.Number} {p.Name,-10} {p.Type,-10} offset {p.Offset,12} size {p.Size,12}  {Describe(p.FileSystem)}");
            if (report.FileSystem != null) ctx.Out.WriteLine("  " + Describe(report.FileSystem));
            return ExitCodes.Ok;
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException($"{image.FullName}: {e.Message}", e);
        }
        // The readers trust the on-disk tables they follow; a damaged or truncated image makes them read past the
        // end or compute an impossible size. That is bad input too, not a crash.
        catch (Exception e) when (e is EndOfStreamException or OverflowException or ArgumentOutOfRangeException or IndexOutOfRangeException or OutOfMemoryException)
        {
            throw new UserInputException($"{image.FullName}: damaged or truncated image ({e.Message})", e);
        }
    }

    private static string Describe(FileSystemReport? fs) => fs is null ? "(no file system recognised)"
        : $"{fs.Type}: {fs.Entries} entries, {fs.Files} files, {fs.FileBytes} bytes; " + string.Join(", ", fs.Details.Select(kv => $"{kv.Key} {kv.Value}"));

    private int PrintList(FileTree tree, OutputFormat output)
    {
        var rows = tree.Walk().Where(n => n.Parent != null).Select(n => new
        {
            path = n.Path, type = n.Type.ToString().ToLowerInvariant(), mode = Convert.ToString(n.Inode.Mode, 8).PadLeft(4, '0'),
            uid = n.Inode.Uid, gid = n.Inode.Gid, size = n.Inode.Size, mtime = n.Inode.MTime,
            target = n.Type == FileNodeType.HardLink ? n.HardLinkTarget!.Path : n.LinkTarget,
        }).ToList();
        if (output == OutputFormat.Json) { ctx.Out.WriteLine(JsonSerializer.Serialize(rows, Json)); return ExitCodes.Ok; }
        foreach (var r in rows)
            ctx.Out.WriteLine($"{r.type,-11} {r.mode} {r.uid}/{r.gid} {r.size,12} {r.path}{(r.target is null ? "" : " -> " + r.target)}");
        return ExitCodes.Ok;
    }
}
