// Which output formats each board can boot; the one place that decides it.
using Appliance.ImageBuilder.Profiles.Model;

namespace Appliance.ImageBuilder.Profiles.Validation;

/// <summary>
/// The board/format matrix. ISO images boot through El Torito's EFI entry, so only UEFI boards take
/// them; Raspberry Pi firmware reads a FAT partition on an SD card or USB disk, and armv7-virt boots a
/// kernel from a raw disk, so those take raw only.
/// </summary>
public static class BoardMatrix
{
    /// <summary>True when <paramref name="board"/> can boot an image of <paramref name="format"/>.</summary>
    public static bool Supports(Board board, ImageFormat format) => format switch
    {
        ImageFormat.Raw => true,
        ImageFormat.Iso => board is Board.X86_64Uefi or Board.Arm64Uefi,
        _ => false,
    };

    /// <summary>The boards that take <paramref name="format"/>.</summary>
    public static IEnumerable<Board> BoardsFor(ImageFormat format) =>
        Enum.GetValues<Board>().Where(b => Supports(b, format));
}
