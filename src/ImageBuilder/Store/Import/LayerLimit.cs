// Marks the exception thrown when a layer unpacks to more bytes than allowed, so scanners do not re-word it.
namespace Appliance.ImageBuilder.Store.Import;

/// <summary>Marks the exception thrown when a layer unpacks to more bytes than allowed.</summary>
internal static class LayerLimit
{
    private const string Key = "appliance.layer-limit";

    /// <summary>An exception that says the limit was passed.</summary>
    public static InvalidDataException Exceeded(string message)
    {
        var e = new InvalidDataException(message);
        e.Data[Key] = true;
        return e;
    }

    /// <summary>True for an exception made by <see cref="Exceeded"/>.</summary>
    public static bool Is(Exception e) => e.Data.Contains(Key);
}
