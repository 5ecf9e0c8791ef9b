// The one exception type that means "the input is wrong": the command layer prints it as one line and exits 2.
namespace Appliance.ImageBuilder.IO;

/// <summary>
/// Bad usage or bad input. The message names what is wrong and where
/// (<c>file:line:col</c>, byte offset, or field path). Libraries throw it; the CLI prints it as one line and exits 2.
/// </summary>
public class UserInputException : Exception
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public UserInputException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    public UserInputException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Extra lines printed after the message (for example every validation problem).</summary>
    public IReadOnlyList<string> Details { get; init; } = [];
}
