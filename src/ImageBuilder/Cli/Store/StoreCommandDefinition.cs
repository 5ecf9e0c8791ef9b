// `appliance store ...`: options and wiring of the content store verbs (add, ls, rm, gc, verify, export).
using System.CommandLine;
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Cli.Store;

/// <summary>Defines the <c>store</c> verb and its subcommands.</summary>
public static class StoreCommandDefinition
{
    /// <summary>--store DIR (else APPLIANCE_STORE, else ${XDG_DATA_HOME:-~/.local/share}/appliance/store).</summary>
    public static readonly Option<string?> StoreDir = new("--store")
    {
        Description = "Content store directory (default: $APPLIANCE_STORE, else ${XDG_DATA_HOME:-~/.local/share}/appliance/store)",
        Recursive = true,
    };

    /// <summary>Paths for add.</summary>
    public static readonly Argument<string[]> Paths = new("PATH") { Description = "OCI layout directory, oci-archive tar or docker-save tar", Arity = ArgumentArity.OneOrMore };
    /// <summary>--allow-devices for add.</summary>
    public static readonly Option<bool> AllowDevices = new("--allow-devices") { Description = "Accept device files in layers (OS base images only)" };
    /// <summary>--max-layer-size for add.</summary>
    public static readonly Option<long> MaxLayerSize = new("--max-layer-size")
    {
        Description = "Refuse a layer that unpacks to more than this many bytes (default 16 GiB)",
        DefaultValueFactory = _ => Appliance.ImageBuilder.Store.Import.ImportOptions.DefaultMaxLayerSize,
    };
    /// <summary>--name for add.</summary>
    public static readonly Option<string?> Name = new("--name") { Description = "Also name the image NAME[:TAG] (sources with one image)" };
    /// <summary>One reference, for rm.</summary>
    public static readonly Argument<string> Ref = new("REF") { Description = "name[:tag], name@sha256:..., or sha256:..." };
    /// <summary>References, for export.</summary>
    public static readonly Argument<string[]> Refs = new("REF") { Description = "Images to export", Arity = ArgumentArity.OneOrMore };
    /// <summary>-o FILE.tar for export.</summary>
    public static readonly Option<string> Archive = new("--archive", "-o") { Description = "The oci-archive to write", Required = true };
    /// <summary>--platform for export.</summary>
    public static readonly Option<string?> PlatformOption = new("--platform") { Description = "Export only this platform (os/arch[/variant]), as an airgap archive for containerd" };
    /// <summary>--board for export.</summary>
    public static readonly Option<string?> Board = new("--board") { Description = $"Export only the platform this board runs ({string.Join(", ", Boards.Board.All.Select(b => b.Name))})" };

    /// <summary>Creates the command tree.</summary>
    public static Command Create(CliContext ctx)
    {
        var store = new Command("store", "Manage the offline content store (an OCI image layout)");
        store.Options.Add(StoreDir);

        var add = new Command("add", "Add images from OCI layouts, oci-archives or docker-save tars");
        add.Arguments.Add(Paths);
        add.Options.Add(AllowDevices);
        add.Options.Add(MaxLayerSize);
        add.Options.Add(Name);
        add.Options.Add(GlobalOptions.Output);
        add.SetAction(p => Command(ctx, p).Add(p.GetValue(Paths)!, new()
        {
            AllowDevices = p.GetValue(AllowDevices),
            MaxLayerSize = p.GetValue(MaxLayerSize),
            Name = p.GetValue(Name),
        }, p.GetValue(GlobalOptions.Output)));

        var ls = new Command("ls", "List images: names, tags, platforms, digest and size");
        ls.Options.Add(GlobalOptions.Output);
        ls.SetAction(p => Command(ctx, p).List(p.GetValue(GlobalOptions.Output)));

        var rm = new Command("rm", "Remove an image's name from the store (blobs go at the next gc)");
        rm.Arguments.Add(Ref);
        rm.SetAction(p => Command(ctx, p).Remove(p.GetValue(Ref)!));

        var gc = new Command("gc", "Delete blobs no image refers to, and leftovers of interrupted adds");
        gc.SetAction(p => Command(ctx, p).Gc());

        var verify = new Command("verify", "Re-hash every blob; exit 1 when any is corrupt or missing");
        verify.Options.Add(GlobalOptions.Output);
        verify.SetAction(p => Command(ctx, p).Verify(p.GetValue(GlobalOptions.Output)));

        var export = new Command("export", "Write images to one oci-archive tar");
        export.Arguments.Add(Refs);
        export.Options.Add(Archive);
        export.Options.Add(PlatformOption);
        export.Options.Add(Board);
        export.SetAction(p => Command(ctx, p).Export(p.GetValue(Refs)!, p.GetValue(Archive)!, ParsePlatform(p.GetValue(PlatformOption), p.GetValue(Board))));

        foreach (var c in new[] { add, ls, rm, gc, verify, export })
            store.Subcommands.Add(c);
        return store;
    }

    private static StoreCommand Command(CliContext ctx, ParseResult p) => new(ctx, p.GetValue(StoreDir));

    private static Platform? ParsePlatform(string? platform, string? board)
    {
        if (platform != null && board != null)
            throw new UserInputException("give --platform or --board, not both");
        try
        {
            return platform != null ? Platform.Parse(platform) : board != null ? Boards.Board.Get(board).Platform : null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UserInputException(e.Message);
        }
    }
}
