// The registry of boot targets, one per board family.
using Appliance.ImageBuilder.Profiles.Model;

namespace Appliance.ImageBuilder.Boot;

/// <summary>Maps a profile's <see cref="Board"/> to its boot target.</summary>
public static class BootTargets
{
    /// <summary>Every target, in the order of <see cref="Board"/>.</summary>
    public static IReadOnlyList<IBootTarget> All { get; } =
    [
        new X86_64Uefi.X86_64UefiTarget(),
        new Arm64Uefi.Arm64UefiTarget(),
        new Arm64Rpi.Arm64RpiTarget(),
        new Armv7Rpi.Armv7RpiTarget(),
        new Armv7Virt.Armv7VirtTarget(),
    ];

    /// <summary>The target for <paramref name="board"/>.</summary>
    public static IBootTarget For(Board board) => board switch
    {
        Board.X86_64Uefi => All[0],
        Board.Arm64Uefi => All[1],
        Board.Arm64Rpi => All[2],
        Board.Armv7Rpi => All[3],
        Board.Armv7Virt => All[4],
        _ => throw new ArgumentOutOfRangeException(nameof(board), board, "unknown board"),
    };

    /// <summary>The target named <paramref name="name"/> (for example <c>armv7-virt</c>).</summary>
    public static IBootTarget For(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"unknown board '{name}' (expected {string.Join(", ", All.Select(t => t.Name))})");
}
