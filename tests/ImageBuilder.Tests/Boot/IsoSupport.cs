// Shared by the ISO tests: the signed x86_64-uefi ISO of a run, built once, and a way to take files out of it.
using System.Collections.Concurrent;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>A built ISO and the raw image built with it.</summary>
public sealed record BuiltIso(BuiltImage Raw, string IsoPath);

/// <summary>The ISO of a board (<c>target.format: iso</c>, signed), built once per run.</summary>
public static class IsoSupport
{
    private static readonly ConcurrentDictionary<string, Lazy<BuiltIso>> Isos = new();

    /// <summary>The site name of a board's ISO test profile.</summary>
    public static string SiteName(string board) => "iso-" + board.Replace('_', '-');

    /// <summary>The profile of a board's ISO: the standard test profile with <c>format: iso</c>, signed.</summary>
    public static string Profile(string board) =>
        BootTestSupport.WriteProfile(SiteName(board), board, signingKey: BootTestSupport.SigningKeyPath, format: "iso");

    /// <summary>Builds (once per run) the ISO of <paramref name="board"/>.</summary>
    public static BuiltIso Iso(string board)
    {
        BootTestSupport.RequireOsImage(BootTestSupport.ArchOf(board));
        return Isos.GetOrAdd(board, b => new Lazy<BuiltIso>(() =>
        {
            var raw = BootTestSupport.Build(SiteName(b), Profile(b), Path.Combine(BootTestSupport.WorkDir, "iso", b), BootTestSupport.SigningEnv);
            var iso = Path.ChangeExtension(raw.ImagePath, ".iso");
            Assert.True(File.Exists(iso), $"{iso} was not written:\n{raw.BuildLog}");
            return new BuiltIso(raw, iso);
        })).Value;
    }

    /// <summary>Extracts the whole ISO with <c>osirrox</c> (Rock Ridge names) into a new directory and returns it.</summary>
    public static string Extract(string iso)
    {
        BootTestSupport.RequireTools("osirrox");
        var dest = Path.Combine(BootTestSupport.WorkDir, "osirrox-" + Guid.NewGuid().ToString("N"));
        DiskTools.Run("osirrox", ["-indev", iso, "-extract", "/", dest]);
        return dest;
    }
}
